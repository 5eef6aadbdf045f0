"""The waitlist of a full event or class occurrence: join, read, leave, claim.

A customer may join only where booking is refused *only* because the occurrence is
full: the same engine check as a booking (:func:`calisera.bookings.rules.check_start`)
refuses every other reason the same way (422 ``not-bookable``, 409 ``slot-unavailable``
when the provider's time is taken), and free seats are a 409 ``seats-available`` (book
them instead). Joining takes the provider's lock and reads the clock under it, so the
line (``created_at``, ``id``) is the order in which joins committed.

The offer itself is made by whichever write frees the seats
(:mod:`calisera.bookings.waitlist_offers`). Claiming books the held seats through
:func:`calisera.bookings.lifecycle.create_booking` with the offer's hold, in one
transaction under the lock: the entry becomes ``claimed`` exactly once (the second
claim finds it claimed, a late one records the expiry, which hands the seats to the
next in line, and finds it expired: 409 ``offer-expired`` after that commit).

The entry's token (``X-Waitlist-Token``) is shown once and kept as its SHA-256; it
reads, leaves and claims the entry. For the offer e-mail it is also kept sealed for
the notifications service until the entry ends (a copy no more readable than the
sealed manage token in the outbox).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import events, lifecycle
from calisera.bookings.access import Actor, hash_manage_token
from calisera.bookings.errors import (
    AlreadyWaiting,
    OfferExpired,
    SeatsAvailable,
    SlotUnavailable,
    WaitlistEntryNotFound,
)
from calisera.bookings.expiry import expire_stale
from calisera.bookings.holds import drop_hold
from calisera.bookings.locks import lock_provider
from calisera.bookings.models import waitlist_entries
from calisera.bookings.rules import check_start
from calisera.bookings.schemas import (
    BookingCreate,
    CustomerOut,
    WaitlistClaim,
    WaitlistEntryOut,
    WaitlistJoin,
)
from calisera.bookings.waitlist_offers import offer_free_seats, record_entry_event, update_entry
from calisera.core.errors import FieldError, InvalidInput
from calisera.core.locks import provider_lock_sql
from calisera.core.pagination import after_cursor, page_of
from calisera.providers.schemas import ScheduleConfig

w = waitlist_entries
_MINUTE = timedelta(minutes=1)
OPEN_STATUSES = ("waiting", "offered")


def effective_status(row: Any, now: datetime | None = None) -> str:
    """An offer past its ``offer_expires_at`` *is* expired, recorded yet or not."""
    if row.status == "offered" and row.offer_expires_at <= (now or datetime.now(UTC)):
        return "expired"
    return str(row.status)


def entry_out(
    row: Any, *, position: int | None = None, token: str | None = None
) -> WaitlistEntryOut:
    status = effective_status(row)
    return WaitlistEntryOut(
        id=row.id,
        status=status,
        service_id=row.service_id,
        service_name=row.service_name,
        provider_id=row.provider_id,
        start=row.start_at,
        end=row.end_at,
        seats=row.seats,
        customer=CustomerOut(
            name=row.customer_name,
            email=row.customer_email,
            phone=row.customer_phone,
            timezone=row.customer_timezone,
        ),
        position=position if status == "waiting" else None,
        offer_expires_at=row.offer_expires_at if status == "offered" else None,
        booking_id=row.booking_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        token=token,
    )


def token_matches(row: Any, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(
        hash_manage_token(token or ""), bytes(row.token_hash)
    )


async def position_of(session: AsyncSession, row: Any) -> int | None:
    """1 for the first waiting entry of the occurrence; None unless ``row`` waits."""
    if row.status != "waiting":
        return None
    ahead = await session.scalar(
        sa.select(sa.func.count())
        .select_from(w)
        .where(
            w.c.service_id == row.service_id,
            w.c.start_at == row.start_at,
            w.c.status == "waiting",
            sa.tuple_(w.c.created_at, w.c.id) < sa.tuple_(row.created_at, row.id),
        )
    )
    return int(ahead or 0) + 1


async def load_entry(
    session: AsyncSession, entry_id: uuid.UUID, *, for_update: bool = False
) -> Any:
    query = sa.select(w).where(w.c.id == entry_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise WaitlistEntryNotFound()
    return row


_LOCK_PROVIDER_OF_ENTRY = sa.text(
    f"SELECT {provider_lock_sql('provider_id')} FROM bookings.waitlist_entries WHERE id = :id"  # noqa: S608 (constants only)
)


async def _locked_entry(session: AsyncSession, entry_id: uuid.UUID) -> tuple[Any, datetime]:
    """The entry, locked after its provider, with the clock read under the lock and
    whatever was due expired first (a lapsed offer is recorded as expired)."""
    await session.execute(_LOCK_PROVIDER_OF_ENTRY, {"id": entry_id})
    now = datetime.now(UTC)
    row = await load_entry(session, entry_id, for_update=True)
    if row.status == "offered" and row.offer_expires_at <= now:
        await expire_stale(session, row.provider_id, now)
        row = await load_entry(session, entry_id)
    return row, now


@dataclass(frozen=True)
class JoinedEntry:
    entry: WaitlistEntryOut
    token: str


async def join_waitlist(
    session: AsyncSession,
    schedules: lifecycle.ScheduleSource,
    provider_id: uuid.UUID,
    request: WaitlistJoin,
    *,
    offer_minutes: int,
    seal_token: Callable[[str], str] | None = None,
) -> JoinedEntry:
    """Put the customer in line for ``request.start``, or refuse as a booking would."""
    await lock_provider(session, provider_id)
    now = datetime.now(UTC)  # under the lock: the line is the order of the commits
    await expire_stale(session, provider_id, now)
    config: ScheduleConfig = await schedules.schedule_config(request.service_id)
    service = config.service
    if service.kind == "simple":
        raise InvalidInput.field(
            "service_id", "waitlists are for events and classes; pick another time instead"
        )
    start = request.start.astimezone(UTC)
    try:
        await check_start(session, config, start, request.seats, now)
    except SlotUnavailable as exc:
        if exc.extra.get("reason") != "full":
            raise
    else:
        raise SeatsAvailable(
            "That occurrence has the seats you asked for: book them instead.",
            extra={"seats": request.seats},
        )
    token = secrets.token_urlsafe(32)
    end = start + (service.duration_minutes * _MINUTE)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "provider_id": provider_id,
        "service_id": service.id,
        "start_at": start,
        "end_at": end,
        "seats": request.seats,
        "status": "waiting",
        "customer_name": request.customer.name,
        "customer_email": str(request.customer.email),
        "customer_phone": request.customer.phone,
        "customer_timezone": request.customer.timezone,
        "service_name": service.name,
        "provider_name": config.provider_name,
        "provider_timezone": config.timezone,
        "provider_slug": config.provider_slug,
        "buffer_before_minutes": service.buffer_before_minutes,
        "buffer_after_minutes": service.buffer_after_minutes,
        "offer_minutes": offer_minutes,
        "last_offer_at": start - service.min_notice_minutes * _MINUTE,
        "token_hash": hash_manage_token(token),
        "token_sealed": seal_token(token) if seal_token else None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with session.begin_nested():
            row = (await session.execute(w.insert().values(**values).returning(*w.c))).one()
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == "23505":
            raise AlreadyWaiting(
                "This e-mail address is already on the waitlist of that occurrence.",
                errors=[FieldError("customer.email", "already waits for this occurrence")],
            ) from exc
        raise
    position = await position_of(session, row)
    await record_entry_event(
        session, row, events.WAITLIST_JOINED, claim_token_sealed=row.token_sealed, position=position
    )
    return JoinedEntry(entry_out(row, position=position, token=token), token)


async def leave_waitlist(session: AsyncSession, entry_id: uuid.UUID) -> Any:
    """Leave the line (an open offer's seats go to the next); leaving an entry that has
    ended (left, expired, claimed) changes nothing. The caller checked who may."""
    row, now = await _locked_entry(session, entry_id)
    if row.status not in OPEN_STATUSES:
        return row
    offered = row.status == "offered"
    row = await update_entry(session, entry_id, status="left", token_sealed=None, updated_at=now)
    if offered and row.hold_id is not None:
        await drop_hold(session, row.hold_id)
    await record_entry_event(session, row, events.WAITLIST_LEFT)
    if offered:
        await offer_free_seats(session, row.provider_id, now)
    return row


@dataclass(frozen=True)
class ClaimedOffer:
    entry: WaitlistEntryOut
    booking: lifecycle.CreatedBooking | None
    """None when the entry holds no open offer: see :func:`refuse_unclaimed`."""


async def claim_offer(
    session: AsyncSession,
    schedules: lifecycle.ScheduleSource,
    entry_id: uuid.UUID,
    token: str | None,
    claim: WaitlistClaim,
    *,
    seal_token: Callable[[str], str] | None = None,
) -> ClaimedOffer:
    """Book the seats held for the entry (a wrong token is a 404). The booking passes
    every check a booking passes, with the offer's hold, so it takes exactly the held
    seats. An entry with no open offer comes back without a booking, after a lapsed
    offer's expiry was recorded (the transaction must commit it, and the next in line
    has its offer): the caller then answers 409 (:func:`refuse_unclaimed`)."""
    row, now = await _locked_entry(session, entry_id)
    if not token_matches(row, token):
        raise WaitlistEntryNotFound()
    if row.status != "offered":
        return ClaimedOffer(entry_out(row), None)
    request = BookingCreate.model_validate(
        {
            "service_id": row.service_id,
            "start": row.start_at,
            "seats": row.seats,
            "customer": {
                "name": row.customer_name,
                "email": row.customer_email,
                "phone": row.customer_phone,
                "timezone": row.customer_timezone,
            },
            "notes": claim.notes,
            "answers": claim.answers,
            "hold_id": row.hold_id,
        }
    )
    created = await lifecycle.create_booking(
        session,
        schedules,
        row.provider_id,
        request,
        now,
        Actor("customer", row.customer_email),
        seal_token=seal_token,
    )
    row = await update_entry(
        session,
        entry_id,
        status="claimed",
        booking_id=created.booking.id,
        token_sealed=None,
        updated_at=now,
    )
    await record_entry_event(session, row, events.WAITLIST_CLAIMED)
    return ClaimedOffer(entry_out(row), created)


def refuse_unclaimed(result: ClaimedOffer) -> lifecycle.CreatedBooking:
    """After the commit: the booking of the claim, or 409 ``offer-expired`` saying why not."""
    if result.booking is None:
        status = result.entry.status
        raise OfferExpired(_not_open(status), extra={"status": status})
    return result.booking


def _not_open(status: str) -> str:
    return {
        "waiting": "No seats have been offered to this entry yet.",
        "claimed": "This offer has already been claimed.",
        "expired": "The offer expired; the seats went to the next in line.",
        "left": "This entry has left the waitlist.",
    }.get(status, "The offer is not open.")


async def provider_waitlist(
    session: AsyncSession,
    provider_id: uuid.UUID,
    *,
    service_id: uuid.UUID | None,
    start: datetime | None,
    statuses: tuple[str, ...],
    limit: int,
    cursor: str | None,
) -> tuple[list[WaitlistEntryOut], str | None]:
    """The provider's entries in line order (``created_at``, ``id``), keyset-paginated."""
    query = sa.select(w).where(w.c.provider_id == provider_id)
    if service_id is not None:
        query = query.where(w.c.service_id == service_id)
    if start is not None:
        query = query.where(w.c.start_at == start)
    if statuses:
        query = query.where(w.c.status.in_(list(statuses)))
    query = query.where(after_cursor((w.c.created_at, w.c.id), cursor))
    rows = (await session.execute(query.order_by(w.c.created_at, w.c.id).limit(limit + 1))).all()
    page, next_cursor = page_of(rows, limit, lambda r: (r.created_at, r.id))
    return [entry_out(r, position=await position_of(session, r)) for r in page], next_cursor
