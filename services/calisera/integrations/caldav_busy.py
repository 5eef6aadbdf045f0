"""Busy time out of calendar data: pure, no I/O (what the sync reads, tested directly).

Each calendar object is expanded over the window with ``recurring-ical-events`` (RRULE,
RDATE, EXDATE and moved occurrences with RECURRENCE-ID), so a weekly meeting blocks
every week. Times with a TZID are read in that zone (the VTIMEZONE of the object or an
IANA name); all-day events (DATE values) and floating times are read in the calendar's
zone (its ``X-WR-TIMEZONE``), else the provider's, else UTC: an all-day event blocks
the provider's whole local day. Free (``TRANSP:TRANSPARENT``) and cancelled events
block nothing, and neither do the events this service wrote itself (bookings are busy
time already).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import recurring_ical_events
import structlog
from icalendar import Calendar

log = structlog.get_logger("calisera.integrations.caldav")
OWN_UID_SUFFIX = "@calisera"
Interval = tuple[datetime, datetime]


def zone_or_none(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _aware(value: date | datetime, zone: ZoneInfo, *, end: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value
    return datetime.combine(value, time(0), tzinfo=zone)


def busy_intervals(
    objects: Iterable[str | bytes],
    start: datetime,
    end: datetime,
    *,
    default_zone: str | None = None,
) -> list[Interval]:
    """Merged UTC busy intervals of ``objects`` (iCalendar texts) within ``[start, end)``."""
    found: list[Interval] = []
    for raw in objects:
        try:
            calendar = Calendar.from_ical(raw)
        except ValueError as exc:
            log.warning("caldav_object_unreadable", error=str(exc)[:200])
            continue
        zone = (
            zone_or_none(str(calendar.get("X-WR-TIMEZONE") or ""))
            or zone_or_none(default_zone)
            or ZoneInfo("UTC")
        )
        try:
            occurrences = recurring_ical_events.of(calendar).between(start, end)
        except (ValueError, TypeError) as exc:  # a broken RRULE must not hide the rest
            log.warning("caldav_recurrence_unreadable", error=str(exc)[:200])
            continue
        for event in occurrences:
            if event.name != "VEVENT" or not _blocks(event):
                continue
            first = event.get("DTSTART")
            if first is None:
                continue
            begin = _aware(first.dt, zone)
            last = event.get("DTEND")
            if last is not None:
                finish = _aware(last.dt, zone)
            elif event.get("DURATION") is not None:
                finish = begin + event["DURATION"].dt
            elif not isinstance(first.dt, datetime):
                finish = _aware(first.dt + timedelta(days=1), zone)
            else:
                continue  # an instant (no duration) takes no time
            lo, hi = max(begin.astimezone(UTC), start), min(finish.astimezone(UTC), end)
            if hi > lo:
                found.append((lo, hi))
    return merge(found)


def _blocks(event: object) -> bool:
    get = event.get  # type: ignore[attr-defined]
    if str(get("UID", "")).endswith(OWN_UID_SUFFIX):
        return False
    if str(get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(get("STATUS", "CONFIRMED")).upper() != "CANCELLED"


def merge(intervals: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out
