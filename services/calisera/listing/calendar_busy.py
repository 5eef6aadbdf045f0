"""Busy time of the provider's connected calendars (CalDAV), merged into the bookings'.

Read through the integrations service's client, never on the booking's path: when that
service is not deployed, slow or failing, listing answers from bookings alone (logged
and counted), because a failing calendar must never take the provider's page down.
Calendar busy time blocks every service (its ``service_id`` matches none).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import structlog
from prometheus_client import Counter

from calisera.bookings.schemas import BusyIntervalOut, BusyTime
from calisera.core.errors import Problem
from calisera.integrations.client import IntegrationsClient
from calisera.listing.service import BusySource

log = structlog.get_logger("calisera.listing")
CALENDAR_BUSY = uuid.UUID(int=0)
"""The ``service_id`` of calendar busy intervals: no service has it, so they block all."""
SKIPPED = Counter(
    "calisera_listing_calendar_busy_skipped_total",
    "Availability answers computed without calendar busy time (integrations failing).",
)


class WithCalendarBusy:
    """A :class:`BusySource`: the bookings' busy time plus the connected calendars'."""

    def __init__(self, bookings: BusySource, calendars: IntegrationsClient | None):
        self.bookings = bookings
        self.calendars = calendars

    async def busy_time(self, provider_id: uuid.UUID, start: datetime, end: datetime) -> BusyTime:
        if self.calendars is None:
            return await self.bookings.busy_time(provider_id, start, end)
        booked, external = await asyncio.gather(
            self.bookings.busy_time(provider_id, start, end),
            self.calendars.busy_time(provider_id, start, end),
            return_exceptions=True,
        )
        if isinstance(booked, BaseException):
            raise booked
        if isinstance(external, BaseException):
            if not isinstance(external, Problem | TimeoutError):
                raise external
            SKIPPED.inc()
            log.warning(
                "calendar_busy_unavailable", provider_id=str(provider_id), error=str(external)
            )
            return booked
        if not external.intervals:
            return booked
        extra = [
            BusyIntervalOut(
                service_id=CALENDAR_BUSY,
                start=i.start,
                end=i.end,
                buffer_before_minutes=0,
                buffer_after_minutes=0,
                seats=1,
            )
            for i in external.intervals
        ]
        return booked.model_copy(update={"intervals": [*booked.intervals, *extra]})
