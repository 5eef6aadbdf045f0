"""The provider's answer to a request: confirm or decline, once.

Both take the provider's lock, expire the provider's due requests
(:mod:`calisera.bookings.expiry`) and lock the booking row before looking at its
status: of two concurrent answers to one request exactly one changes it (the second
sees the first's result: the same answer again is harmless, the other answer is a
409). A request holds its time in the exclusion constraint from the moment it is made,
so confirming needs no new time: two overlapping requests can never both exist, and
so can never both be confirmed. A request answered after its ``expires_at`` comes back
``expired`` (the expiry is recorded, so the transaction must commit) and the route
answers 409 ``request-expired``: its time may already belong to someone else.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import events
from calisera.bookings.access import Actor
from calisera.bookings.errors import InvalidTransition
from calisera.bookings.expiry import expire_stale
from calisera.bookings.locks import lock_provider_of
from calisera.bookings.models import busy_blocks
from calisera.bookings.occurrences import release_booking_time, update_booking
from calisera.bookings.queries import booking_out, load_booking
from calisera.bookings.records import record_change
from calisera.bookings.schemas import BookingOut
from calisera.bookings.waitlist_offers import offer_free_seats


async def _pending(session: AsyncSession, booking_id: uuid.UUID, now: datetime) -> Any:
    await lock_provider_of(session, booking_id)
    row = await load_booking(session, booking_id, for_update=True)
    if row.status == "pending" and row.expires_at <= now:
        await expire_stale(session, row.provider_id, now)
        row = await load_booking(session, booking_id)
    return row


async def confirm_request(
    session: AsyncSession, booking_id: uuid.UUID, actor: Actor, now: datetime
) -> BookingOut:
    """Turn a pending request into a confirmed booking (confirming twice is harmless)."""
    row = await _pending(session, booking_id, now)
    status = row.status
    if status == "expired":
        return booking_out(row)  # the caller answers 409 after committing the expiry
    if status == "confirmed":
        return booking_out(row)  # confirmed by an earlier answer
    if status != "pending":
        raise InvalidTransition(f"A request that is {status} cannot be confirmed.")
    await session.execute(
        busy_blocks.update().where(busy_blocks.c.booking_id == booking_id).values(expires_at=None)
    )
    confirmed = await update_booking(session, booking_id, status="confirmed", updated_at=now)
    await record_change(session, confirmed, "confirm", events.BOOKING_CONFIRMED, actor, now)
    return booking_out(confirmed)


async def decline_request(
    session: AsyncSession,
    booking_id: uuid.UUID,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
) -> BookingOut:
    """Decline a pending request and free its time (declining twice is harmless)."""
    row = await _pending(session, booking_id, now)
    status = row.status
    if status == "expired":
        return booking_out(row)
    if status == "declined":
        return booking_out(row)
    if status != "pending":
        raise InvalidTransition(f"A request that is {status} cannot be declined.")
    await release_booking_time(session, row)
    declined = await update_booking(session, booking_id, status="declined", updated_at=now)
    await record_change(
        session, declined, "decline", events.BOOKING_DECLINED, actor, now, reason=reason
    )
    if declined.occurrence_id is not None:
        await offer_free_seats(session, declined.provider_id, now)
    return booking_out(declined)
