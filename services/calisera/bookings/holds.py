"""Slot holds: a customer keeps a slot (or seats) for :data:`HOLD_MINUTES` minutes.

A hold takes its time exactly like a booking, under the provider's lock and the same
checks (:func:`calisera.bookings.rules.check_start`): a one-to-one hold owns a busy
block in the exclusion constraint (with the hold's ``expires_at``), a hold of seats
counts in the occurrence's ``seats_taken`` under its CHECK, for events and classes
too. So a held slot is offered to nobody else and booked by nobody else, and expires
by itself like a request (:mod:`calisera.bookings.expiry`). A booking that presents the
hold id gives the hold back and takes the time in one transaction under the lock, so
nobody can come between (:func:`consume_hold`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import events
from calisera.bookings.busy_time import busy_range
from calisera.bookings.errors import HoldExpired, SlotUnavailable
from calisera.bookings.models import busy_blocks, holds, outbox
from calisera.bookings.occurrences import release_seats, take_seats
from calisera.bookings.rules import check_start
from calisera.bookings.schemas import HoldCreate, HoldOut
from calisera.bookings.waitlist_offers import offer_free_seats, serve_waitlist_first
from calisera.core.errors import InvalidInput
from calisera.core.events import EventType, new_event
from calisera.core.outbox import record_event
from calisera.providers.schemas import ScheduleConfig

HOLD_MINUTES = 10
"""How long a hold lasts: time to fill in the booking form."""

_CONFLICT_SQLSTATES = frozenset({"23P01", "23514"})


def hold_out(row: Any) -> HoldOut:
    return HoldOut(
        id=row.id,
        service_id=row.service_id,
        start=row.start_at,
        end=row.end_at,
        seats=row.seats,
        expires_at=row.expires_at,
    )


async def _announce(
    session: AsyncSession, event_type: EventType[events.HoldData], row: Any
) -> None:
    data = events.HoldData(
        hold_id=row.id,
        service_id=row.service_id,
        provider_id=row.provider_id,
        start=row.start_at,
        end=row.end_at,
        seats=row.seats,
        expires_at=row.expires_at,
    )
    event = new_event(
        event_type,
        source=events.SOURCE,
        aggregate_id=row.id,
        aggregate_version=1 if event_type is events.HOLD_PLACED else 2,
        provider_id=row.provider_id,
        data=data,
    )
    await record_event(session, outbox, event)


async def place_hold(
    session: AsyncSession, config: ScheduleConfig, request: HoldCreate, now: datetime
) -> HoldOut:
    """Hold ``request.start`` for :data:`HOLD_MINUTES`, or raise as a booking would
    (409 taken/full, 422 not bookable). The caller holds the provider's lock and has
    expired what was due (``calisera.bookings.expiry.expire_stale``)."""
    service = config.service
    start = request.start.astimezone(now.tzinfo)
    await serve_waitlist_first(session, config, start, now)
    await check_start(session, config, start, request.seats, now)
    end = start + timedelta(minutes=service.duration_minutes)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "provider_id": config.provider_id,
        "service_id": service.id,
        "start_at": start,
        "end_at": end,
        "seats": request.seats,
        "expires_at": now + timedelta(minutes=HOLD_MINUTES),
        "created_at": now,
        "occurrence_id": None,
    }
    try:
        if service.kind != "simple":
            values["occurrence_id"] = await take_seats(session, config, start, end, request.seats)
        row = (await session.execute(holds.insert().values(**values).returning(*holds.c))).one()
        if service.kind == "simple":
            await session.execute(
                busy_blocks.insert().values(
                    provider_id=config.provider_id,
                    service_id=service.id,
                    hold_id=row.id,
                    start_at=start,
                    end_at=end,
                    buffer_before_minutes=service.buffer_before_minutes,
                    buffer_after_minutes=service.buffer_after_minutes,
                    during=busy_range(
                        start, end, service.buffer_before_minutes, service.buffer_after_minutes
                    ),
                    expires_at=row.expires_at,
                )
            )
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) in _CONFLICT_SQLSTATES:
            raise SlotUnavailable("That time is already taken.", extra={"reason": "taken"}) from exc
        raise
    await _announce(session, events.HOLD_PLACED, row)
    return hold_out(row)


async def _drop(session: AsyncSession, row: Any) -> None:
    """Give back what ``row`` holds (its busy block goes with it: ON DELETE CASCADE)."""
    await session.execute(holds.delete().where(holds.c.id == row.id))
    if row.occurrence_id is not None:
        await release_seats(session, row.occurrence_id, row.seats)


async def drop_hold(session: AsyncSession, hold_id: uuid.UUID) -> None:
    """Give back what a hold keeps, announcing nothing (a waitlist offer that ends); the
    caller holds the provider's lock. An unknown id is fine."""
    row = (
        await session.execute(sa.select(holds).where(holds.c.id == hold_id).with_for_update())
    ).first()
    if row is not None:
        await _drop(session, row)


async def expire_holds(session: AsyncSession, provider_id: uuid.UUID, now: datetime) -> int:
    """Delete the provider's expired holds; the caller holds the provider's lock."""
    rows = (
        await session.execute(
            sa.select(holds)
            .where(holds.c.provider_id == provider_id, holds.c.expires_at <= now)
            .with_for_update()
        )
    ).all()
    for row in rows:
        await _drop(session, row)
    return len(rows)


async def consume_hold(
    session: AsyncSession,
    hold_id: uuid.UUID,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    start: datetime,
    seats: int,
) -> None:
    """Give back the hold a booking presents, so the booking can take its place; the
    caller holds the provider's lock, has expired what was due and books in the same
    transaction. A hold of another service, time or fewer seats is a 422."""
    row = (
        await session.execute(
            sa.select(holds)
            .where(holds.c.id == hold_id, holds.c.provider_id == provider_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise HoldExpired("The hold expired or was used; choose a time again.")
    if row.service_id != service_id or row.start_at != start or row.seats < seats:
        raise InvalidInput.field("hold_id", "holds another service, time or fewer seats")
    await _drop(session, row)


async def release_hold(
    session: AsyncSession, hold_id: uuid.UUID, provider_id: uuid.UUID, now: datetime
) -> None:
    """Give a hold back before it expires (the customer left); unknown ids are fine."""
    row = (
        await session.execute(
            sa.select(holds)
            .where(holds.c.id == hold_id, holds.c.provider_id == provider_id)
            .with_for_update()
        )
    ).first()
    if row is None or row.expires_at <= now:
        return
    await _drop(session, row)
    await _announce(session, events.HOLD_RELEASED, row)
    if row.occurrence_id is not None:
        await offer_free_seats(session, provider_id, now)


async def hold_provider(session: AsyncSession, hold_id: uuid.UUID) -> uuid.UUID | None:
    return (
        await session.execute(sa.select(holds.c.provider_id).where(holds.c.id == hold_id))
    ).scalar_one_or_none()
