"""Bookable slots of one service, and the check that a requested start is one of them.

:func:`free_slots` lists what the listing service offers;
:func:`calisera.scheduling.reasons.explain` says why a start is not offered, and
:func:`calisera.scheduling.reasons.check_bookable` (what the bookings service checks)
refuses exactly what it explains. Both run the same plan per provider-local day, so a
start is bookable exactly when ``free_slots`` offers it with enough seats.

Rules (decisions a reader cannot see in the code):

- **Availability** of a provider-local date is that date's override if there is one
  (no intervals = day off), otherwise the weekly rules of its weekday. Overlapping or
  touching intervals merge. An interval ending at ``00:00`` ends at midnight (24:00), so
  ``00:00-00:00`` is the whole day; other intervals with ``end <= start`` are ignored.
- **Slot grid** (simple services): starts step by ``slot_interval_minutes`` (default:
  the duration) from the start of each availability interval, and a slot must fit
  whole inside the interval. Time off, bookings and buffers remove slots from the
  grid; they never move it (a lunch break does not shift the afternoon to :20).
- **Buffers** are the provider's own preparation and wrap-up time. A new slot and an
  existing booking conflict iff their buffered ranges ``[start - before, end + after)``
  overlap: the rule the bookings database enforces with its exclusion constraint.
  Buffers may extend outside availability and into time off (a 09:00 slot with a
  15-minute buffer before is offered when work starts at 09:00); only the booked time
  itself must lie inside availability and outside time off.
- **Events and classes** are explicitly scheduled: their occurrences need not lie in
  weekly availability and ignore time off; seats left are ``capacity - seats_taken``
  and full occurrences are not offered. A provider is one person: an occurrence whose
  buffered time overlaps any confirmed time of the provider other than its own booked
  seats (a one-to-one booking, another booked occurrence) is not offered, because the
  database would refuse its first seat — every offered slot is bookable. The provider's
  active events and classes (``other_services``) block one-to-one slots whether or not
  anyone booked them (with their own buffers), like any booking does.
- **Notice and window**: a start is offered when ``now + min_notice <= start <=
  now + booking_window_days``.
- **Daily limit** (simple services): ``max_bookings_per_day`` counts the confirmed
  bookings of this service (busy intervals carrying its id) starting on the same
  provider-local date; at the limit, that date offers nothing.
- **Weekly limit** (simple services): ``max_bookings_per_week`` counts the same way per
  ISO week of provider-local dates (Monday to Sunday); at the limit, the whole week
  offers nothing. The busy time given must then cover the whole week of each date.
- **Suspension**: a suspended provider offers nothing.
- **Range**: the requested dates are inclusive and read in the output zone; a slot is
  in range when its start instant is. Output datetimes carry the output zone's offset.
- **Daylight-saving time** (see :mod:`calisera.scheduling.zones`): rules are wall
  clock and keep their local hours across a change. Availability is the set of
  instants whose wall clock reads inside a rule (a rule ending inside a repeated hour
  covers both passes up to its end); time off, more cautiously, blocks from the
  first instant of its start to the last instant of its end. On a transition day the grid
  is laid on the wall clock; a start that does not exist is skipped, never shifted;
  a start that happens twice is offered in both passes, and starts are then kept at
  least ``min(interval, duration)`` apart in real time, so the repeated hour yields no
  duplicate and (when ``interval >= duration``) no overlapping slots. Every other day
  takes a fast path of integer minute arithmetic.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from calisera.scheduling.hours import WorkingHours, merge_spans, time_off_span
from calisera.scheduling.model import (
    AvailabilityQuery,
    ServiceDefinition,
    ServiceKind,
    Slot,
)
from calisera.scheduling.recurrence import occurrence_starts
from calisera.scheduling.zones import (
    MINUTES_PER_DAY,
    boundary_instant,
    day_number,
    fixed_offset,
    local_day_and_minute,
    offset_at,
    to_minutes,
    uniform_offset,
    wall_instants,
    wall_range_instants,
    zone,
)

REASONS = frozenset(
    {
        "outside_availability",
        "misaligned",
        "too_soon",
        "too_far",
        "in_past",
        "full",
        "taken",
        "inactive",
        "daily_limit",
        "weekly_limit",
    }
)

_MESSAGES = {
    "outside_availability": "The provider is not available at that time.",
    "misaligned": "That start is not on the service's slot grid.",
    "too_soon": "That start is sooner than the service's minimum notice.",
    "too_far": "That start is beyond the service's booking window.",
    "in_past": "That start is in the past.",
    "full": "Not enough seats are left at that time.",
    "taken": "That time is already taken.",
    "inactive": "The service is not bookable.",
    "daily_limit": "The service has reached its bookings limit for that day.",
    "weekly_limit": "The service has reached its bookings limit for that week.",
}


class NotBookable(Exception):
    """A requested start is not a bookable slot; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str | None = None):
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        self.reason = reason
        self.detail = detail or _MESSAGES[reason]
        super().__init__(f"{reason}: {self.detail}")


_DELTAS = [timedelta(minutes=m) for m in range(2 * MINUTES_PER_DAY + 1)]


class _Forbidden:
    """Start instants a slot may not take, as sorted disjoint ``[lo, hi)`` ranges.

    A booked range ``[A, B)`` (buffers included) forbids every start ``t`` with
    ``t - before < B`` and ``t + duration + after > A``; time off forbids ``t < B`` and
    ``t + duration > A``. Merging them once turns every later test into a bisect or
    a forward walk over integers.
    """

    __slots__ = ("his", "los")

    def __init__(self, ranges: Iterable[tuple[int, int]]):
        merged = merge_spans(ranges)
        self.los = [a for a, _ in merged]
        self.his = [b for _, b in merged]

    def contains(self, t: int) -> bool:
        i = bisect_right(self.los, t)
        return i > 0 and t < self.his[i - 1]

    def keep(self, starts: Iterable[int], lo: int, hi: int) -> list[int]:
        """The ascending ``starts`` in ``[lo, hi)`` that are not forbidden."""
        los, his = self.los, self.his
        n = len(los)
        j = 0
        out = []
        for t in starts:
            if t < lo:
                continue
            if t >= hi:
                break
            while j < n and his[j] <= t:
                j += 1
            if j < n and los[j] <= t:
                continue
            out.append(t)
        return out


class _Plan:
    """A query's inputs turned into integers and indexes, for provider days
    ``[first_day, last_day]`` (day numbers of provider-local dates)."""

    def __init__(self, query: AvailabilityQuery, first_day: int, last_day: int):
        self.query = query
        service = query.service
        self.service = service
        self.tz = zone(query.schedule.timezone)
        self.duration = service.duration_minutes
        self.step = service.slot_interval_minutes or service.duration_minutes
        self.before = service.buffer_before_minutes
        self.after = service.buffer_after_minutes
        self.first_day = first_day
        self.last_day = last_day
        self.earliest, self.latest = notice_bounds(query)

        schedule = query.schedule
        self.hours = WorkingHours(schedule, self.tz)

        dur, before, after = self.duration, self.before, self.after
        lo_wall = (first_day - 1) * MINUTES_PER_DAY
        hi_wall = (last_day + 2) * MINUTES_PER_DAY
        forbidden = []
        for off in schedule.time_off:
            a = day_number(off.start.date()) * MINUTES_PER_DAY
            b = day_number(off.end.date()) * MINUTES_PER_DAY + MINUTES_PER_DAY
            if b < lo_wall or a > hi_wall:
                continue
            start, end = time_off_span(self.tz, off)
            forbidden.append((start - dur + 1, end))

        self.seats_taken: dict[int, int] = {}
        for occ in query.seats:
            if occ.service_id == service.id:
                m = to_minutes(occ.start)
                self.seats_taken[m] = self.seats_taken.get(m, 0) + occ.seats_taken

        self.daily: dict[int, int] = {}
        self.weekly: dict[int, int] = {}
        if service.kind == ServiceKind.SIMPLE:
            forbidden.extend((a - dur - after + 1, b + before) for a, b in self._busy_ranges())
            limited = (service.max_bookings_per_day, service.max_bookings_per_week)
            if limited != (None, None):
                for busy in query.busy:
                    if busy.service_id == service.id:
                        day, _ = local_day_and_minute(self.tz, to_minutes(busy.start))
                        self.daily[day] = self.daily.get(day, 0) + 1
                        week = iso_week(day)
                        self.weekly[week] = self.weekly.get(week, 0) + 1
        else:
            self._plan_group_conflicts()
        self.forbidden = _Forbidden(forbidden)

    def _plan_group_conflicts(self) -> None:
        """Starts of this event/class that the provider's confirmed time makes
        unattendable: any busy interval but the occurrence's own block overlaps them."""
        dur, before, after = self.duration, self.before, self.after
        service_id = self.service.id
        others = []
        self.own_blocks: list[tuple[int, int, int]] = []
        for b in self.query.busy:
            lo = to_minutes(b.start) - b.buffer_before_minutes
            hi = to_minutes(b.end) + b.buffer_after_minutes
            if b.service_id == service_id:
                self.own_blocks.append((to_minutes(b.start), lo, hi))
            else:
                others.append((lo - dur - after + 1, hi + before))
        self.occupied = _Forbidden(others)

    def occurrence_blocked(self, t: int) -> bool:
        """Whether confirmed time other than this occurrence's own overlaps start ``t``."""
        if self.occupied.contains(t):
            return True
        lo, hi = t - self.before, t + self.duration + self.after
        return any(start != t and a < hi and lo < b for start, a, b in self.own_blocks)

    def _busy_ranges(self) -> list[tuple[int, int]]:
        ranges = [
            (
                to_minutes(b.start) - b.buffer_before_minutes,
                to_minutes(b.end) + b.buffer_after_minutes,
            )
            for b in self.query.busy
        ]
        for other in self.query.other_services:
            if not _blocks(other, self.service):
                continue
            margin = 2 + (other.duration_minutes + other.buffer_before_minutes) // MINUTES_PER_DAY
            for start in occurrence_starts(
                other, self.tz, self.first_day - margin, self.last_day + 1
            ):
                ranges.append(
                    (
                        start - other.buffer_before_minutes,
                        start + other.duration_minutes + other.buffer_after_minutes,
                    )
                )
        return ranges

    def grid(self, day: int) -> list[int]:
        """Slot starts of a simple service on provider-local ``day``, before anything
        but availability is considered (ascending instants)."""
        intervals = self.hours.wall_intervals(day)
        if not intervals:
            return []
        dur, step = self.duration, self.step
        offset = uniform_offset(self.tz, day)
        if offset is not None:
            base = day * MINUTES_PER_DAY - offset
            out: list[int] = []
            for s, e in intervals:
                out.extend(range(base + s, base + e - dur + 1, step))
            return out
        # A daylight-saving transition falls on this day: lay the grid on the wall clock.
        candidates = []
        for s, e in intervals:
            ranges = wall_range_instants(self.tz, day, s, e)
            for w in range(s, e, step):
                for t in wall_instants(self.tz, day, w):
                    if any(a <= t and t + dur <= b for a, b in ranges):
                        candidates.append(t)
        candidates.sort()
        gap = min(step, dur)
        kept: list[int] = []
        for t in candidates:
            if not kept or t >= kept[-1] + gap:
                kept.append(t)
        return kept

    def booked(self, t: int) -> bool:
        """Whether bookings (not time off) forbid start ``t``: for the reason only."""
        dur, before, after = self.duration, self.before, self.after
        return any(a < t + dur + after and t - before < b for a, b in self._busy_ranges())

    def at_daily_limit(self, day: int) -> bool:
        limit = self.service.max_bookings_per_day
        return limit is not None and self.daily.get(day, 0) >= limit

    def at_weekly_limit(self, day: int) -> bool:
        limit = self.service.max_bookings_per_week
        return limit is not None and self.weekly.get(iso_week(day), 0) >= limit

    def occurrences(self, first_day: int, last_day: int) -> list[int]:
        return occurrence_starts(self.service, self.tz, first_day, last_day)


def iso_week(day: int) -> int:
    """The ISO week (Monday to Sunday) of day number ``day``, as a number that grows by
    one a week (day 0, 1970-01-01, is a Thursday)."""
    return (day + 3) // 7


def _blocks(other: ServiceDefinition, service: ServiceDefinition) -> bool:
    return other.active and other.kind != ServiceKind.SIMPLE and other.id != service.id


def notice_bounds(query: AvailabilityQuery) -> tuple[int, int]:
    """(earliest, latest) bookable start as epoch minutes, from now, notice and window."""
    now = query.now.timestamp()
    service = query.service
    earliest = math.ceil((now + service.min_notice_minutes * 60) / 60)
    latest = math.floor((now + service.booking_window_days * 86400) / 60)
    return earliest, latest


def _range_instants(query: AvailabilityQuery) -> tuple[int, int]:
    out_tz = zone(query.output_zone)
    lo = boundary_instant(out_tz, day_number(query.range_start), 0, is_end=False)
    hi = boundary_instant(out_tz, day_number(query.range_end) + 1, 0, is_end=False)
    return lo, hi


def free_slots(query: AvailabilityQuery) -> list[Slot]:
    """The bookable slots of ``query.service`` in the requested dates, sorted by start."""
    service = query.service
    if query.schedule.suspended or not service.active or service.duration_minutes <= 0:
        return []
    lo, hi = _range_instants(query)
    earliest, latest = notice_bounds(query)
    lo = max(lo, earliest)
    hi = min(hi, latest + 1)
    if lo >= hi:
        return []
    tz = zone(query.schedule.timezone)
    first_day, _ = local_day_and_minute(tz, lo)
    last_day, _ = local_day_and_minute(tz, hi - 1)
    plan = _Plan(query, first_day, last_day)
    dur = plan.duration
    starts: list[int] = []
    seats: list[int] = []
    if service.kind == ServiceKind.SIMPLE:
        if plan.step <= 0:
            return []
        for day in range(first_day, last_day + 1):
            if not plan.at_daily_limit(day) and not plan.at_weekly_limit(day):
                starts.extend(plan.forbidden.keep(plan.grid(day), lo, hi))
        seats = [service.capacity] * len(starts)
    else:
        for t in plan.occurrences(first_day, last_day):
            left = service.capacity - plan.seats_taken.get(t, 0)
            if lo <= t < hi and left > 0 and not plan.occurrence_blocked(t):
                starts.append(t)
                seats.append(left)
    return _slots(starts, seats, dur, zone(query.output_zone))


def _slots(starts: Sequence[int], seats: Sequence[int], dur: int, tz: ZoneInfo) -> list[Slot]:
    """Slots whose datetimes carry ``tz``'s offset at each instant.

    The tzinfo is a fixed offset (``+02:00``), not the zone itself: Python compares two
    datetimes sharing one ``ZoneInfo`` by wall clock, which would call the two passes
    of a repeated hour equal; fixed offsets compare and subtract as instants. Days
    without a transition reuse one offset for all their slots.
    """
    out = []
    day_lo = day_hi = 0
    base = datetime.fromtimestamp(0, UTC)
    deltas = _DELTAS
    for t, left in zip(starts, seats, strict=True):
        if not (day_lo <= t and t + dur <= day_hi):
            day, _ = local_day_and_minute(tz, t)
            offset = uniform_offset(tz, day)
            if offset is not None and dur <= MINUTES_PER_DAY:
                day_lo = day * MINUTES_PER_DAY - offset
                day_hi = day_lo + MINUTES_PER_DAY
                base = datetime.fromtimestamp(day_lo * 60, fixed_offset(offset))
            else:
                day_lo = day_hi = 0
        if day_lo <= t and t + dur <= day_hi:
            start = base + deltas[t - day_lo]
            out.append(Slot(start, start + deltas[dur], left))
        else:
            out.append(
                Slot(
                    datetime.fromtimestamp(t * 60, fixed_offset(offset_at(tz, t))),
                    datetime.fromtimestamp((t + dur) * 60, fixed_offset(offset_at(tz, t + dur))),
                    left,
                )
            )
    return out
