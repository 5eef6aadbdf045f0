"""Seats of dated occurrences of events and classes.

An occurrence row counts its taken seats under a CHECK (``seats_taken <= capacity``);
its one busy block (the provider is one person) exists while a seat is taken.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.busy_time import busy_range
from calisera.bookings.errors import SlotUnavailable
from calisera.bookings.models import busy_blocks, occurrences
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
    # A provider is one person: a booked occurrence blocks their one-to-one time.
    await session.execute(
        insert(busy_blocks)
        .values(
            provider_id=config.provider_id,
            service_id=service.id,
            occurrence_id=occurrence_id,
            start_at=start,
            end_at=end,
            buffer_before_minutes=service.buffer_before_minutes,
            buffer_after_minutes=service.buffer_after_minutes,
            during=busy_range(
                start, end, service.buffer_before_minutes, service.buffer_after_minutes
            ),
        )
        .on_conflict_do_nothing(index_elements=["occurrence_id"])
    )
    return occurrence_id


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
