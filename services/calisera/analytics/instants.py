"""Instants, provider-local days and zones as analytics reads them.

Stored observations keep instants as RFC 3339 strings in UTC; a zone analytics does
not know (a newer tz database elsewhere) counts as UTC rather than failing an event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from calisera.scheduling import UnknownZone
from calisera.scheduling import zone as scheduling_zone


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``; UTC when missing or unknown (events are never rejected)."""
    try:
        return scheduling_zone(name or "UTC")
    except UnknownZone:
        return scheduling_zone("UTC")


def parse_instant(value: Any) -> datetime | None:
    """An aware datetime from an RFC 3339 string (or datetime); None when absent/bad."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso_instant(value: Any) -> str | None:
    """:func:`parse_instant` as an RFC 3339 string in UTC (what observations store)."""
    parsed = parse_instant(value)
    return parsed.isoformat() if parsed else None


def local_day(instant: datetime, tz: str | None) -> date:
    return instant.astimezone(zone(tz)).date()


def minutes_between(start: datetime, end: datetime) -> int:
    """Elapsed minutes (in UTC: Python subtracts same-zone datetimes by wall clock)."""
    return int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 60)
