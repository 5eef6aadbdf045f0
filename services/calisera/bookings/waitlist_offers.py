"""Offering freed seats to the waitlist: exactly once, in line, in the freeing transaction.

Every write that frees seats of an occurrence (cancel, reschedule away, decline, the
expiry of requests, holds and offers, a released hold, an entry that leaves) holds its
provider's lock (:mod:`calisera.bookings.locks`) and, before it commits, calls
:func:`offer_free_seats`. That walks the provider's ``waiting`` entries whose
occurrence has room, in line (``created_at``, ``id``), and offers each whose seats fit:
the seats are taken into an ordinary hold (:mod:`calisera.bookings.holds`) by the same
conditional ``UPDATE`` a booking takes them with, under the occurrence's
``seats_taken <= capacity`` CHECK. So a freed seat is never offered twice (the second
offer finds no room), never booked by someone else while it is offered (it is taken),
and never sold past the line: the lock orders every writer, and the seats are already
held when the next one looks.

An offer lasts ``offer_minutes`` (the platform's claim time when the entry joined), at
most until ``last_offer_at`` (the service's minimum notice before the start: later,
the claim could not book). Its hold expires with it; like every expiry that needs no
sweeper (:mod:`calisera.bookings.expiry`), the next writer of the provider expires the
offer under the lock (:func:`expire_offers`), its hold with it, and offers the seats
to the next in line in the same transaction. The periodic sweep only makes that prompt
where nobody writes.

The ``waitlist.offered`` event carries the entry's token sealed for the notifications
service, which e-mails the claim link.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import events
from calisera.bookings.locks import lock_provider
from calisera.bookings.models import holds, occurrences, outbox, waitlist_entries
from calisera.bookings.occurrences import block_occurrence_time
from calisera.core.events import EventType, new_event
from calisera.core.outbox import record_event
from calisera.providers.schemas import ScheduleConfig

w = waitlist_entries

_OFFERABLE = sa.text(
    """
    SELECT w.* FROM bookings.waitlist_entries w
      JOIN bookings.occurrences o ON o.service_id = w.service_id AND o.start_at = w.start_at
     WHERE w.provider_id = :provider_id AND w.status = 'waiting' AND w.last_offer_at > :now
       AND o.seats_taken + w.seats <= o.capacity
       AND (CAST(:service_id AS uuid) IS NULL
            OR (w.service_id = :service_id AND w.start_at = :start))
     ORDER BY w.service_id, w.start_at, w.created_at, w.id
       FOR UPDATE OF w
    """
)
"""The provider's waiting entries that may fit, in line per occurrence (served by the
partial index of waiting entries; empty, the usual case, it costs one index probe)."""


async def record_entry_event(
    session: AsyncSession,
    row: Any,
    event_type: EventType[events.WaitlistData],
    **extra: Any,
) -> None:
    """The outbox event of the change that produced the entry ``row``."""
    data = events.WaitlistData(
        entry_id=row.id,
        service_id=row.service_id,
        service_name=row.service_name,
        provider_id=row.provider_id,
        provider_name=row.provider_name,
        provider_timezone=row.provider_timezone,
        provider_slug=row.provider_slug,
        start=row.start_at,
        end=row.end_at,
        seats=row.seats,
        status=row.status,
        customer=events.BookingCustomer(
            name=row.customer_name,
            email=row.customer_email,
            phone=row.customer_phone,
            timezone=row.customer_timezone,
        ),
        created_at=row.created_at,
        offer_expires_at=row.offer_expires_at if row.status == "offered" else None,
        booking_id=row.booking_id,
        **extra,
    )
    event = new_event(
        event_type,
        source=events.SOURCE,
        aggregate_id=row.id,
        aggregate_version=row.version,
        provider_id=row.provider_id,
        data=data,
    )
    await record_event(session, outbox, event)


async def update_entry(session: AsyncSession, entry_id: uuid.UUID, **values: Any) -> Any:
    """Change the entry and move its version on; the new row."""
    return (
        await session.execute(
            w.update()
            .where(w.c.id == entry_id)
            .values(version=w.c.version + 1, **values)
            .returning(*w.c)
        )
    ).one()


async def _hold_seats(
    session: AsyncSession, entry: Any, now: datetime
) -> tuple[uuid.UUID, datetime] | None:
    """Take the entry's seats into a hold until its offer ends (the hold's id and that
    end); None when they do not fit (or the provider's time is taken since the
    occurrence emptied). Runs in a savepoint, so a refusal by a constraint leaves the
    freeing transaction intact."""
    o = occurrences
    expires_at = min(now + timedelta(minutes=entry.offer_minutes), entry.last_offer_at)
    try:
        async with session.begin_nested():
            taken = (
                await session.execute(
                    o.update()
                    .where(
                        o.c.service_id == entry.service_id,
                        o.c.start_at == entry.start_at,
                        o.c.seats_taken + entry.seats <= o.c.capacity,
                    )
                    .values(seats_taken=o.c.seats_taken + entry.seats)
                    .returning(o.c.id)
                )
            ).first()
            if taken is None:
                return None
            # The occurrence's busy block exists while a seat is taken (it may have emptied).
            await block_occurrence_time(
                session,
                entry.provider_id,
                entry.service_id,
                taken.id,
                entry.start_at,
                entry.end_at,
                entry.buffer_before_minutes,
                entry.buffer_after_minutes,
            )
            hold_id = uuid.uuid4()
            await session.execute(
                holds.insert().values(
                    id=hold_id,
                    provider_id=entry.provider_id,
                    service_id=entry.service_id,
                    occurrence_id=taken.id,
                    start_at=entry.start_at,
                    end_at=entry.end_at,
                    seats=entry.seats,
                    expires_at=expires_at,
                    created_at=now,
                )
            )
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) in ("23P01", "23514"):
            return None
        raise
    return hold_id, expires_at


async def offer_free_seats(
    session: AsyncSession,
    provider_id: uuid.UUID,
    now: datetime,
    *,
    service_id: uuid.UUID | None = None,
    start: datetime | None = None,
) -> int:
    """Offer the free seats of the provider's occurrences (or of one) to their waiting
    entries, in line; the caller holds the provider's lock. Returns how many offers."""
    candidates = (
        await session.execute(
            _OFFERABLE,
            {"provider_id": provider_id, "now": now, "service_id": service_id, "start": start},
        )
    ).all()
    offered = 0
    for entry in candidates:
        held = await _hold_seats(session, entry, now)
        if held is None:
            continue  # the seats went to someone earlier in line: the next may need fewer
        hold_id, expires_at = held
        row = await update_entry(
            session,
            entry.id,
            status="offered",
            hold_id=hold_id,
            offered_at=now,
            offer_expires_at=expires_at,
            updated_at=now,
        )
        await record_entry_event(
            session, row, events.WAITLIST_OFFERED, claim_token_sealed=row.token_sealed
        )
        offered += 1
    return offered


async def expire_offers(session: AsyncSession, provider_id: uuid.UUID, now: datetime) -> int:
    """Record the provider's offers that ran out as ``expired`` (their holds expire with
    them, :func:`calisera.bookings.holds.expire_holds`); the caller holds the lock and
    offers the seats on (:func:`offer_free_seats`)."""
    rows = (
        await session.execute(
            w.update()
            .where(
                w.c.provider_id == provider_id,
                w.c.status == "offered",
                w.c.offer_expires_at <= now,
            )
            .values(status="expired", token_sealed=None, updated_at=now, version=w.c.version + 1)
            .returning(*w.c)
        )
    ).all()
    for row in rows:
        await record_entry_event(session, row, events.WAITLIST_EXPIRED)
    return len(rows)


_WAITING_FOR = sa.text(
    """
    SELECT EXISTS (SELECT 1 FROM bookings.waitlist_entries
                    WHERE provider_id = :provider_id AND service_id = :service_id
                      AND start_at = :start AND status = 'waiting')
    """
)


async def serve_waitlist_first(
    session: AsyncSession, config: ScheduleConfig, start: datetime, now: datetime
) -> None:
    """Before a booking or hold takes seats of an occurrence: if anyone waits for it, the
    service's current capacity is what counts (a provider may have raised it), and what
    it frees goes to the line first; the caller holds the provider's lock."""
    service = config.service
    if service.kind == "simple":
        return
    params = {"provider_id": config.provider_id, "service_id": service.id, "start": start}
    if not await session.scalar(_WAITING_FOR, params):
        return
    o = occurrences
    await session.execute(
        o.update()
        .where(
            o.c.service_id == service.id,
            o.c.start_at == start,
            o.c.seats_taken <= service.capacity,
        )
        .values(capacity=service.capacity)
    )
    await offer_free_seats(session, config.provider_id, now, service_id=service.id, start=start)


async def apply_capacity(
    session: AsyncSession,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    capacity: int,
    now: datetime,
) -> int:
    """The service's capacity changed (``service.updated``): its occurrences that people
    wait for count with it, and what a raise frees goes to the line. The offers
    :func:`serve_waitlist_first` makes roll back with a refused booking; this commits
    them (the bookings consumer's transaction). Takes the provider's lock."""
    await lock_provider(session, provider_id)
    o = occurrences
    waited_for = (
        sa.select(w.c.start_at)
        .where(w.c.service_id == service_id, w.c.status == "waiting", w.c.start_at > now)
        .scalar_subquery()
    )
    await session.execute(
        o.update()
        .where(
            o.c.service_id == service_id,
            o.c.start_at.in_(waited_for),
            o.c.seats_taken <= capacity,
        )
        .values(capacity=capacity)
    )
    return await offer_free_seats(session, provider_id, now)
