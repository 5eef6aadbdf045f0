"""Booking writes of one provider, one at a time (:mod:`calisera.core.locks`).

Every booking write takes its provider's advisory lock first, before any read the
write depends on: two transactions inserting *different* overlapping ranges into the
GiST exclusion constraint could otherwise each wait for the other's uncommitted row
(PostgreSQL answers one of them with a deadlock), and a rule checked on rows read
before another booking commits (the daily limit) would pass twice. Under the lock
every read of the transaction sees all the provider's earlier committed writes (READ
COMMITTED takes a snapshot per statement). The providers service takes the same lock
when it changes a schedule, so the revalidation made under it is exact too.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.locks import lock_provider, provider_lock_sql

__all__ = ["lock_provider", "lock_provider_of"]

_LOCK_PROVIDER_OF_BOOKING = sa.text(
    f"SELECT {provider_lock_sql('provider_id')} FROM bookings.bookings WHERE id = :booking_id"  # noqa: S608 (constants only)
)


async def lock_provider_of(session: AsyncSession, booking_id: uuid.UUID) -> None:
    """:func:`lock_provider` for the provider of an existing booking (one round trip)."""
    await session.execute(_LOCK_PROVIDER_OF_BOOKING, {"booking_id": booking_id})
