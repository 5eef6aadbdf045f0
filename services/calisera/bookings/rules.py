"""The rules a booking must pass: the same engine listing offers slots with.

Checked inside the booking's transaction, after its provider's lock
(:mod:`calisera.bookings.locks`), against a schedule revalidated under that lock: what
is checked here is exact, and the database constraints guarantee it regardless.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from calisera import scheduling
from calisera.bookings.access import Actor
from calisera.bookings.busy_time import busy_rows
from calisera.bookings.errors import LimitReached, NotBookable, SlotUnavailable, TooLateToChange
from calisera.core.errors import InvalidInput
from calisera.providers.schemas import ScheduleConfig, ServiceScheduleOut
from calisera.scheduling.model import AvailabilityQuery, BusyInterval, OccurrenceSeats

Change = Literal["cancel", "reschedule"]


async def check_start(
    session: AsyncSession,
    config: ScheduleConfig,
    start: datetime,
    seats: int,
    now: datetime,
    *,
    exclude_booking_id: uuid.UUID | None = None,
) -> None:
    """Is ``start`` a bookable slot of the service for ``seats``? Same rules as listing."""
    service = config.service
    if config.provider_suspended or not service.active:
        raise NotBookable("inactive", "This service is not taking bookings.")
    if seats > service.capacity:
        raise InvalidInput.field("seats", f"at most {service.capacity} seats can be booked")
    if service.kind == "simple" and seats != 1:
        raise InvalidInput.field("seats", "one-to-one services are booked for one seat")
    zone = ZoneInfo(config.timezone)
    day = start.astimezone(zone).date()
    first, last = day, day
    if service.max_bookings_per_week is not None:  # the whole ISO week is counted
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
    window_start = datetime.combine(first - timedelta(days=1), datetime.min.time(), zone)
    window_end = datetime.combine(last + timedelta(days=2), datetime.min.time(), zone)
    rows = await busy_rows(
        session, config.provider_id, window_start, window_end, exclude_booking_id, now
    )
    query = AvailabilityQuery(
        schedule=config.provider_schedule(),
        service=service.definition(),
        now=now,
        range_start=day,
        range_end=day,
        output_zone=config.timezone,
        busy=tuple(
            BusyInterval(
                start=r.start_at,
                end=r.end_at,
                buffer_before_minutes=r.buffer_before_minutes,
                buffer_after_minutes=r.buffer_after_minutes,
                service_id=r.service_id,
                seats=r.seats,
            )
            for r in rows
        ),
        seats=tuple(
            OccurrenceSeats(r.service_id, r.start_at, r.seats)
            for r in rows
            if r.occurrence_id is not None
        ),
        other_services=config.blocking_services(),
    )
    try:
        scheduling.check_bookable(query, start, seats)
    except scheduling.NotBookable as exc:
        if exc.reason in ("full", "taken"):
            raise SlotUnavailable(
                "That time is already taken.", extra={"reason": exc.reason}
            ) from exc
        if exc.reason == "weekly_limit":
            raise LimitReached.of(
                "max_bookings_per_week",
                f"{service.name} takes at most {service.max_bookings_per_week} bookings a "
                "week, and that week is full; please pick another week.",
                reason=exc.reason,
            ) from exc
        raise NotBookable(exc.reason, f"start is not a bookable slot: {exc.detail}") from exc


def notice_minutes(service: ServiceScheduleOut, change: Change) -> int:
    """How long before the start a customer may still cancel or move a booking: the
    reschedule notice for moves when the service sets one, else the cancellation notice."""
    if change == "reschedule" and service.reschedule_notice_minutes is not None:
        return service.reschedule_notice_minutes
    return service.cancellation_notice_minutes


def check_change_allowed(
    row: Any, actor: Actor, config: ScheduleConfig, now: datetime, change: Change
) -> None:
    """Customers cancel or move a booking only up to the service's notice for it."""
    if actor.kind != "customer":
        return
    minutes = notice_minutes(config.service, change)
    if now > row.start_at - timedelta(minutes=minutes):
        what = "Moving the booking" if change == "reschedule" else "Cancelling"
        raise TooLateToChange(
            f"{what} is possible until {minutes} minutes before the start; "
            "please contact the provider."
        )
