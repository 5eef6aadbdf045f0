"""What every booking change leaves behind: a history row and an outbox event, written
in the change's own transaction (a rollback drops both)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import events
from calisera.bookings.access import Actor
from calisera.bookings.models import booking_history, outbox
from calisera.core.events import EventEnvelope, EventType, new_event
from calisera.core.outbox import record_event


def _event_data(row: Any, actor: Actor, **extra: Any) -> events.BookingData:
    return events.BookingData(
        booking_id=row.id,
        service_id=row.service_id,
        service_kind=row.service_kind,
        service_name=row.service_name,
        provider_id=row.provider_id,
        provider_name=row.provider_name,
        provider_timezone=row.provider_timezone,
        start=row.start_at,
        end=row.end_at,
        seats=row.seats,
        status=row.status,
        created_at=row.created_at,
        customer=events.BookingCustomer(
            name=row.customer_name,
            email=row.customer_email,
            phone=row.customer_phone,
            timezone=row.customer_timezone,
        ),
        answers=row.answers,
        actor=actor.kind,
        **extra,
    )


def booking_event(
    row: Any,
    event_type: EventType[events.BookingData],
    actor: Actor,
    *,
    reason: str | None = None,
    previous: tuple[datetime, datetime] | None = None,
    data: dict[str, Any] | None = None,
) -> EventEnvelope:
    """The event of the change that produced ``row`` (a bookings row or its values)."""
    extra: dict[str, Any] = {"reason": reason, **(data or {})}
    if previous:
        extra["previous_start"], extra["previous_end"] = previous
    return new_event(
        event_type,
        source=events.SOURCE,
        aggregate_id=row.id,
        aggregate_version=row.version,
        provider_id=row.provider_id,
        data=_event_data(row, actor, **extra),
    )


async def record_change(
    session: AsyncSession,
    row: Any,
    action: str,
    event_type: EventType[events.BookingData],
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    previous: tuple[datetime, datetime] | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """History row and outbox event of the change that produced ``row``."""
    await session.execute(
        booking_history.insert().values(
            booking_id=row.id,
            version=row.version,
            action=action,
            actor=actor.kind,
            actor_id=actor.id,
            reason=reason,
            status=row.status,
            start_at=row.start_at,
            end_at=row.end_at,
            previous_start_at=previous[0] if previous else None,
            previous_end_at=previous[1] if previous else None,
            occurred_at=now,
        )
    )
    event = booking_event(row, event_type, actor, reason=reason, previous=previous, data=data)
    await record_event(session, outbox, event)
