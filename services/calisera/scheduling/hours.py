"""A provider's working hours: which instants of a provider-local day are open.

The rules of :mod:`calisera.scheduling.availability` (overrides replace a date's weekly
hours, intervals merge, an end of ``00:00`` is midnight) and the daylight-saving rules
of :mod:`calisera.scheduling.zones` (a rule covers every instant whose wall clock reads
inside it) live here once: the slot grid is laid inside these hours, and
:func:`open_minutes` measures them, so the time a provider is open and the slots the
listing offers are one truth.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from calisera.scheduling.model import ProviderSchedule, TimeOff, WallInterval
from calisera.scheduling.zones import (
    MINUTES_PER_DAY,
    day_number,
    naive_boundary,
    wall_range_instants,
    zone,
)

Span = tuple[int, int]
"""A half-open ``[lo, hi)`` range of minutes (of a day, or epoch minutes)."""


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sorted disjoint spans covering the same minutes (touching spans join; empty go)."""
    merged: list[Span] = []
    for s, e in sorted(p for p in spans if p[0] < p[1]):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def wall_spans(intervals: Iterable[WallInterval]) -> tuple[Span, ...]:
    """Wall-clock intervals as merged minute-of-day spans (``00:00`` as an end is 1440;
    other intervals with ``end <= start`` are ignored)."""
    spans = []
    for iv in intervals:
        s = iv.start.hour * 60 + iv.start.minute
        e = iv.end.hour * 60 + iv.end.minute
        spans.append((s, MINUTES_PER_DAY if e == 0 else e))
    return tuple(merge_spans(spans))


def time_off_span(tz: ZoneInfo, off: TimeOff) -> Span:
    """The instants time off closes: from the first instant of its start to the last
    instant of its end (the cautious reading of a wall time that happens twice)."""
    return (
        naive_boundary(tz, off.start, is_end=False),
        naive_boundary(tz, off.end, is_end=True),
    )


class WorkingHours:
    """Weekly rules and date overrides as merged wall-clock spans per day number."""

    __slots__ = ("overrides", "tz", "weekly")

    def __init__(self, schedule: ProviderSchedule, tz: ZoneInfo):
        self.tz = tz
        by_weekday: dict[int, list[WallInterval]] = {}
        for rule in schedule.weekly:
            by_weekday.setdefault(rule.weekday, []).append(WallInterval(rule.start, rule.end))
        self.weekly = {wd: wall_spans(ivs) for wd, ivs in by_weekday.items()}
        self.overrides = {day_number(o.date): wall_spans(o.intervals) for o in schedule.overrides}

    def wall_intervals(self, day: int) -> tuple[Span, ...]:
        """Minute-of-day spans of provider-local day number ``day``."""
        found = self.overrides.get(day)
        if found is not None:
            return found
        # day 0 (1970-01-01) was a Thursday: weekday 3.
        return self.weekly.get((day + 3) % 7, ())

    def instant_intervals(self, day: int) -> list[Span]:
        """The epoch-minute ranges whose wall clock reads inside that day's hours."""
        out = []
        for s, e in self.wall_intervals(day):
            out.extend(wall_range_instants(self.tz, day, s, e))
        return out


def _subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    """``spans`` minus ``holes`` (both sorted and disjoint)."""
    out: list[Span] = []
    j = 0
    for lo, hi in spans:
        while j < len(holes) and holes[j][1] <= lo:
            j += 1
        k = j
        while lo < hi and k < len(holes) and holes[k][0] < hi:
            a, b = holes[k]
            if a > lo:
                out.append((lo, a))
            lo = max(lo, b)
            k += 1
        if lo < hi:
            out.append((lo, hi))
    return out


def open_minutes(schedule: ProviderSchedule, first: date, last: date) -> dict[date, int]:
    """Real elapsed minutes the provider is open on each provider-local date of
    ``[first, last]``: the day's hours minus time off. A daylight-saving change makes a
    day's hours shorter or longer (a wall time that is skipped is not open, one that
    happens twice is open twice), exactly as the slot grid sees them."""
    tz = zone(schedule.timezone)
    hours = WorkingHours(schedule, tz)
    closed = merge_spans(time_off_span(tz, off) for off in schedule.time_off)
    out: dict[date, int] = {}
    d = first
    while d <= last:
        spans = merge_spans(hours.instant_intervals(day_number(d)))
        out[d] = sum(hi - lo for lo, hi in _subtract(spans, closed))
        d = date.fromordinal(d.toordinal() + 1)
    return out
