"""What a provider offers: open minutes of its hours, seats of its events and classes.

These are the denominators of utilization. They are counted by
:mod:`calisera.scheduling`, the code that lays out the listing's slots, from the
provider's and services' latest events: a daylight-saving change shortens or lengthens
a day exactly as the slot grid sees it, and a class occurrence whose wall time does
not exist is skipped in both places.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from calisera.analytics.instants import zone
from calisera.providers.events import AvailabilityData
from calisera.providers.schemas import RecurrenceOut
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


def provider_hours(doc: Mapping[str, Any], timezone: str) -> ProviderSchedule | None:
    """The provider's hours from the stored ``availability.updated`` data (None when
    the stored document does not read as one: no hours are counted then)."""
    try:
        hours = AvailabilityData.model_validate({**doc, "timezone": zone(timezone).key})
    except ValidationError:
        return None
    return ProviderSchedule(
        timezone=hours.timezone,
        weekly=tuple(WeeklyRule(r.weekday, r.start, r.end) for r in hours.weekly),
        overrides=tuple(
            DateOverride(o.date, tuple(WallInterval(i.start, i.end) for i in o.intervals))
            for o in hours.overrides
        ),
        time_off=tuple(TimeOff(t.start, t.end) for t in hours.time_off),
    )


def _recurrence(stored: Mapping[str, Any] | None) -> Recurrence | None:
    """A class's stored recurrence (``service.*`` data) as the scheduling engine's."""
    try:
        rec = RecurrenceOut.model_validate(stored or {})
    except ValidationError:
        return None
    return Recurrence(rec.rrule, rec.start_time, rec.starts_on, rec.until, tuple(rec.exdates))


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
