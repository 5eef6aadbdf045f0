"""Seats of dated occurrences of events and classes.

An occurrence row counts its taken seats under a CHECK (``seats_taken <= capacity``);
its one busy block (the provider is one person) exists while a seat is taken.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.busy_time import busy_range
from calisera.bookings.errors import SlotUnavailable
from calisera.bookings.models import bookings, busy_blocks, occurrences
from calisera.providers.schemas import ScheduleConfig


async def take_seats(
    session: AsyncSession,
    config: ScheduleConfig,
    start: datetime,
    end: datetime,
    seats: int,
) -> uuid.UUID:
    """Take ``seats`` in the occurrence at ``start``; its busy block appears with the first."""
    service = config.service
    await session.execute(
        insert(occurrences)
        .values(
            id=uuid.uuid4(),
            provider_id=config.provider_id,
            service_id=service.id,
            start_at=start,
            end_at=end,
            capacity=service.capacity,
            seats_taken=0,
        )
        .on_conflict_do_nothing(index_elements=["service_id", "start_at"])
    )
    o = occurrences
    taken = (
        await session.execute(
            o.update()
            .where(
                o.c.service_id == service.id,
                o.c.start_at == start,
                o.c.seats_taken + seats <= service.capacity,
            )
            .values(seats_taken=o.c.seats_taken + seats, capacity=service.capacity)
            .returning(o.c.id)
        )
    ).first()
    if taken is None:
        raise SlotUnavailable("Not enough seats left.", extra={"reason": "full"})
    occurrence_id: uuid.UUID = taken.id
    await block_occurrence_time(
        session,
        config.provider_id,
        service.id,
        occurrence_id,
        start,
        end,
        service.buffer_before_minutes,
        service.buffer_after_minutes,
    )
    return occurrence_id


async def block_occurrence_time(
    session: AsyncSession,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    occurrence_id: uuid.UUID,
    start: datetime,
    end: datetime,
    buffer_before: int,
    buffer_after: int,
) -> None:
    """The occurrence's busy block, if it has none yet (its first seat was just taken).
    A provider is one person: a booked occurrence blocks their one-to-one time."""
    await session.execute(
        insert(busy_blocks)
        .values(
            provider_id=provider_id,
            service_id=service_id,
            occurrence_id=occurrence_id,
            start_at=start,
            end_at=end,
            buffer_before_minutes=buffer_before,
            buffer_after_minutes=buffer_after,
            during=busy_range(start, end, buffer_before, buffer_after),
        )
        .on_conflict_do_nothing(index_elements=["occurrence_id"])
    )


async def release_seats(session: AsyncSession, occurrence_id: uuid.UUID, seats: int) -> None:
    """Give ``seats`` back; the last one out frees the provider's time."""
    o = occurrences
    left = (
        await session.execute(
            o.update()
            .where(o.c.id == occurrence_id)
            .values(seats_taken=o.c.seats_taken - seats)
            .returning(o.c.seats_taken)
        )
    ).scalar_one()
    if left == 0:
        await session.execute(
            busy_blocks.delete().where(busy_blocks.c.occurrence_id == occurrence_id)
        )


async def release_booking_time(session: AsyncSession, row: Any) -> None:
    """Free what the booking ``row`` holds: its busy block, or its occurrence seats."""
    if row.occurrence_id is None:
        await session.execute(busy_blocks.delete().where(busy_blocks.c.booking_id == row.id))
    else:
        await release_seats(session, row.occurrence_id, row.seats)


async def update_booking(session: AsyncSession, booking_id: uuid.UUID, **values: Any) -> Any:
    """Change the booking row and move its version on; the new row."""
    return (
        await session.execute(
            bookings.update()
            .where(bookings.c.id == booking_id)
            .values(version=bookings.c.version + 1, **values)
            .returning(*bookings.c)
        )
    ).one()
