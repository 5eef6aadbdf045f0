"""What a provider offers: open minutes of its hours, seats of its events and classes.

These are the denominators of utilization. They are counted by
:mod:`calisera.scheduling`, the code that lays out the listing's slots, from the
provider's and services' latest events: a daylight-saving change shortens or lengthens
a day exactly as the slot grid sees it, and a class occurrence whose wall time does
not exist is skipped in both places. Reading the event documents is tolerant (a rule
analytics cannot read is left out, never an error).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from calisera.analytics.event_values import as_int, parse_date, zone
from calisera.scheduling import occurrences
from calisera.scheduling.model import (
    DateOverride,
    ProviderSchedule,
    Recurrence,
    ServiceDefinition,
    ServiceKind,
    TimeOff,
    WallInterval,
    WeeklyRule,
)


def _wall(value: Any) -> time | None:
    """A wall-clock time; ``24:00`` is midnight ending the day (an end of ``00:00``)."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        return None
    if value.startswith("24:00"):
        return time(0)
    try:
        return time.fromisoformat(value)
    except ValueError:
        return None


def _naive(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def _intervals(items: Any) -> tuple[WallInterval, ...]:
    out = []
    for item in items or []:
        start, end = _wall(item.get("start")), _wall(item.get("end"))
        if start is not None and end is not None:
            out.append(WallInterval(start, end))
    return tuple(out)


def provider_hours(doc: Mapping[str, Any] | None, timezone: str | None) -> ProviderSchedule:
    """The provider's hours as the latest ``availability.updated`` event stated them."""
    doc = doc or {}
    weekly = []
    for rule in doc.get("weekly") or []:
        start, end = _wall(rule.get("start")), _wall(rule.get("end"))
        day = as_int(rule.get("weekday"))
        if start is not None and end is not None and day is not None and 0 <= day <= 6:
            weekly.append(WeeklyRule(day, start, end))
    overrides = []
    for override in doc.get("overrides") or []:
        on = parse_date(override.get("date"))
        if on is not None:
            overrides.append(DateOverride(on, _intervals(override.get("intervals"))))
    time_off = []
    for off in doc.get("time_off") or []:
        off_start, off_end = _naive(off.get("start")), _naive(off.get("end"))
        if off_start is not None and off_end is not None:
            time_off.append(TimeOff(off_start, off_end))
    return ProviderSchedule(
        timezone=zone(timezone or doc.get("timezone")).key,
        weekly=tuple(weekly),
        overrides=tuple(overrides),
        time_off=tuple(time_off),
    )


def _recurrence(rec: Mapping[str, Any] | None) -> Recurrence | None:
    rec = rec or {}
    start_time, starts_on = _wall(rec.get("start_time")), parse_date(rec.get("starts_on"))
    rule = rec.get("rrule")
    if start_time is None or starts_on is None or not isinstance(rule, str):
        return None
    until = parse_date(rec["until"]) if rec.get("until") else None
    exdates = (parse_date(d) for d in rec.get("exdates") or [])
    return Recurrence(rule, start_time, starts_on, until, tuple(d for d in exdates if d))


@dataclass(frozen=True)
class ServiceOffer:
    """What a service offers: enough to count its occurrences and seats per day."""

    service_id: uuid.UUID
    name: str | None = None
    kind: str | None = None
    capacity: int = 1
    duration_minutes: int | None = None
    starts_at: datetime | None = None
    recurrence: Mapping[str, Any] | None = None
    archived_at: datetime | None = None

    def definition(self) -> ServiceDefinition | None:
        """The service as the scheduling engine sees it (None: it has no occurrences)."""
        duration = self.duration_minutes or 0
        if self.kind == ServiceKind.EVENT and self.starts_at is not None:
            return ServiceDefinition(
                self.service_id, ServiceKind.EVENT, duration, starts_at=self.starts_at
            )
        recurrence = _recurrence(self.recurrence) if self.kind == ServiceKind.CLASS else None
        if recurrence is not None:
            return ServiceDefinition(
                self.service_id, ServiceKind.CLASS, duration, recurrence=recurrence
            )
        return None

    def occurrences(self, first: date, last: date, tz: str | None) -> Counter[date]:
        """Occurrences per provider-local day in ``[first, last]``, those before the
        service was archived."""
        definition = self.definition()
        if definition is None:
            return Counter()
        zi = zone(tz)
        return Counter(
            start.astimezone(zi).date()
            for start in occurrences(definition, zi.key, first, last)
            if self.archived_at is None or start < self.archived_at
        )

    def seats_offered(self, first: date, last: date, tz: str | None) -> Counter[date]:
        return Counter({d: n * self.capacity for d, n in self.occurrences(first, last, tz).items()})
