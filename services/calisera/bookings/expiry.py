"""Requests that nobody answered in time: expired under the provider's lock.

A pending request holds its time in the exclusion constraint until ``expires_at``.
The constraint cannot depend on the clock, so correctness does not wait for a sweeper:

- every writer that takes time (create, reschedule, confirm, hold) first calls
  :func:`expire_stale` for its provider (expired holds too, :mod:`.holds`), *after*
  taking the provider's lock (:mod:`calisera.bookings.locks`) and in its own
  transaction, so an expired request is gone before the new row meets the
  constraint, and no writer can slip in between;
- every reader ignores what has expired (the busy-time read filters on ``expires_at``,
  :func:`calisera.bookings.queries.effective_status` reports ``expired``).

Waitlist offers expire the same way (an offer's seats are a hold ending with it), and
what the expiry frees is offered to the next in line in the same transaction
(:mod:`calisera.bookings.waitlist_offers`). A waiting entry whose occurrence has room
also counts as due, so whatever freed seats without offering them (a capacity raised
by the provider) is put right by the next writer or the sweep.

:func:`expire_due` (run every :data:`SWEEP_SECONDS` by the service) only makes the
``booking.expired`` event, and so the customer's e-mail, timely for providers nobody
writes to.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from calisera.bookings import events
from calisera.bookings.access import SYSTEM
from calisera.bookings.holds import expire_holds
from calisera.bookings.locks import lock_provider
from calisera.bookings.models import bookings, holds, occurrences, waitlist_entries
from calisera.bookings.occurrences import release_booking_time, update_booking
from calisera.bookings.records import record_change
from calisera.bookings.waitlist_offers import expire_offers, offer_free_seats

SWEEP_SECONDS = 30.0
SWEEP_BATCH = 100


_ANYTHING_DUE = sa.text(
    """
    SELECT EXISTS (SELECT 1 FROM bookings.bookings
                    WHERE provider_id = :provider_id AND status = 'pending'
                      AND expires_at <= :now)
        OR EXISTS (SELECT 1 FROM bookings.holds
                    WHERE provider_id = :provider_id AND expires_at <= :now)
        OR EXISTS (SELECT 1 FROM bookings.waitlist_entries w
                     JOIN bookings.occurrences o
                       ON o.service_id = w.service_id AND o.start_at = w.start_at
                    WHERE w.provider_id = :provider_id AND w.status = 'waiting'
                      AND w.last_offer_at > :now AND o.seats_taken + w.seats <= o.capacity)
    """
)
"""One indexed round trip on the booking hot path when nothing is due (the usual case)."""


async def expire_stale(session: AsyncSession, provider_id: uuid.UUID, now: datetime) -> int:
    """Expire the provider's due offers, holds and requests and offer what they free to
    the waitlist (the caller holds the provider's lock): what every writer that takes
    time does first."""
    due = await session.scalar(_ANYTHING_DUE, {"provider_id": provider_id, "now": now})
    if not due:
        return 0
    await expire_offers(session, provider_id, now)
    await expire_holds(session, provider_id, now)
    expired = await expire_requests(session, provider_id, now)
    await offer_free_seats(session, provider_id, now)
    return expired


async def expire_requests(session: AsyncSession, provider_id: uuid.UUID, now: datetime) -> int:
    """Expire the provider's pending requests whose time is up; the caller holds the
    provider's lock. Returns how many expired."""
    b = bookings
    rows = (
        await session.execute(
            sa.select(b)
            .where(b.c.provider_id == provider_id, b.c.status == "pending", b.c.expires_at <= now)
            .order_by(b.c.expires_at, b.c.id)
            .with_for_update()
        )
    ).all()
    for row in rows:
        await release_booking_time(session, row)
        expired = await update_booking(session, row.id, status="expired", updated_at=now)
        await record_change(session, expired, "expire", events.BOOKING_EXPIRED, SYSTEM, now)
    return len(rows)


async def expire_due(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Expire due requests, holds and offers of up to :data:`SWEEP_BATCH` providers, and
    offer room that waiting entries fit in, one transaction each."""
    b, w, o = bookings, waitlist_entries, occurrences
    due = sa.union(
        sa.select(b.c.provider_id).where(b.c.status == "pending", b.c.expires_at <= now),
        sa.select(holds.c.provider_id).where(holds.c.expires_at <= now),
        sa.select(w.c.provider_id)
        .join(o, sa.and_(o.c.service_id == w.c.service_id, o.c.start_at == w.c.start_at))
        .where(
            w.c.status == "waiting",
            w.c.last_offer_at > now,
            o.c.seats_taken + w.c.seats <= o.c.capacity,
        ),
    ).subquery()
    async with sessionmaker() as session, session.begin():
        providers = (await session.scalars(sa.select(due.c.provider_id).limit(SWEEP_BATCH))).all()
    total = 0
    for provider_id in providers:
        async with sessionmaker() as session, session.begin():
            await lock_provider(session, provider_id)
            total += await expire_stale(session, provider_id, now)
    return total
