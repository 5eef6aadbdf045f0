"""Occurrences of events and classes, as epoch-minute instants.

A class repeats by an RFC 5545 RRULE evaluated on the provider's **wall clock**: the
rule's ``DTSTART`` is ``starts_on`` at ``start_time`` (naive, provider zone), so a class
at 18:00 stays at 18:00 local across daylight-saving changes. ``until`` is an inclusive
date; ``exdates`` remove single dates. An occurrence whose wall time does not exist
(clocks going forward) is skipped, never moved; one whose wall time happens twice
takes the first pass (one occurrence, no duplicate). An ``UNTIL``/``COUNT`` inside the
RRULE itself is honoured too. A rule that cannot be parsed yields no occurrences (the
providers service validates rules when they are written).

An event is a single occurrence at its ``starts_at`` instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from calisera.scheduling.model import Recurrence, ServiceDefinition, ServiceKind
from calisera.scheduling.zones import (
    date_of_day_number,
    day_number,
    local_day_and_minute,
    to_minutes,
    wall_instants,
    zone,
)


@lru_cache(maxsize=1024)
def _rule(text: str, dtstart: datetime) -> rrule | None:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    try:
        parsed = rrulestr(body, dtstart=dtstart, cache=True)
    except (ValueError, TypeError):
        return None
    return parsed if isinstance(parsed, rrule) else None


def recurrence_dates(rec: Recurrence, first: date, last: date) -> list[date]:
    """Dates (provider wall clock) of the recurrence's occurrences in ``[first, last]``."""
    lo = max(first, rec.starts_on)
    hi = last if rec.until is None else min(last, rec.until)
    if hi < lo:
        return []
    rule = _rule(rec.rrule, datetime.combine(rec.starts_on, rec.start_time))
    if rule is None:
        return []
    found = rule.between(
        datetime.combine(lo, time(0)),
        datetime.combine(hi, time(0)) + timedelta(days=1),
        inc=True,
    )
    excluded = set(rec.exdates)
    out: list[date] = []
    for occ in found:
        d = occ.date()
        if lo <= d <= hi and d not in excluded and (not out or out[-1] != d):
            out.append(d)
    return out


def occurrence_starts(
    service: ServiceDefinition, tz: ZoneInfo, first_day: int, last_day: int
) -> list[int]:
    """Start instants of an event's or class's occurrences whose provider-local date is
    in day numbers ``[first_day, last_day]``, sorted. Empty for simple services."""
    if service.kind == ServiceKind.EVENT:
        if service.starts_at is None:
            return []
        start = to_minutes(service.starts_at)
        day, _ = local_day_and_minute(tz, start)
        return [start] if first_day <= day <= last_day else []
    if service.kind != ServiceKind.CLASS or service.recurrence is None:
        return []
    rec = service.recurrence
    minute = rec.start_time.hour * 60 + rec.start_time.minute
    out = []
    for d in recurrence_dates(rec, date_of_day_number(first_day), date_of_day_number(last_day)):
        instants = wall_instants(tz, day_number(d), minute)
        if instants:
            out.append(instants[0])
    return out


def occurrences(
    service: ServiceDefinition, timezone: str, first: date, last: date
) -> list[datetime]:
    """Start instants (UTC) of an event's or class's occurrences whose date in
    ``timezone`` is in ``[first, last]``, sorted: the starts the listing offers, before
    notice, window and seats are considered. Empty for simple services."""
    starts = occurrence_starts(service, zone(timezone), day_number(first), day_number(last))
    return [datetime.fromtimestamp(m * 60, UTC) for m in starts]
