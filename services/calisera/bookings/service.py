"""The booking domain: create, cancel, reschedule, complete, no-show, read.

Functions take the caller's session and never commit: the route owns the transaction.
Double booking is made impossible by the database (see :mod:`calisera.bookings.models`);
the checks here only give good messages. A constraint violation (exclusion 23P01 or
CHECK 23514) is turned into :class:`SlotUnavailable` and the caller's transaction rolls
back with everything it wrote, events included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from calisera import scheduling
from calisera.bookings import events
from calisera.bookings.models import (
    booking_history,
    bookings,
    busy_blocks,
    occurrences,
    outbox,
)
from calisera.bookings.schemas import (
    BookingCreate,
    BookingOut,
    BusyIntervalOut,
    BusyTime,
    CustomerOut,
    HistoryEntryOut,
    OccurrenceSeatsOut,
)
from calisera.core.auth import Principal
from calisera.core.errors import Conflict, FieldError, InvalidInput, NotFound
from calisera.core.events import EventEnvelope, EventType, new_event
from calisera.core.outbox import OUTBOX_CHANNEL, announce_after_commit, record_event
from calisera.providers.schemas import ScheduleConfig
from calisera.scheduling.model import AvailabilityQuery, BusyInterval, OccurrenceSeats

ActorKind = Literal["customer", "owner", "admin"]
_CONFLICT_SQLSTATES = frozenset({"23P01", "23514"})  # exclusion violation, CHECK violation


# --- domain errors (rendered as problem+json by calisera.core) ---


class SlotUnavailable(Conflict):
    status, slug, title = 409, "slot-unavailable", "That time is no longer available"


class NotBookable(InvalidInput):
    """422: ``start`` is not a bookable slot of the service; ``reason`` says why."""

    status, slug, title = 422, "not-bookable", "That time cannot be booked"

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(
            detail or f"start is not a bookable slot ({reason})",
            errors=[FieldError("start", f"not a bookable slot: {reason}")],
            extra={"reason": reason},
        )
        self.reason = reason


class InvalidTransition(Conflict):
    status, slug, title = 409, "invalid-transition", "The booking cannot change that way"


class TooLateToChange(Conflict):
    status, slug, title = 409, "too-late-to-change", "Too late to change this booking"


class BookingNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such booking.")


# --- values ---


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None = None


class ScheduleSource(Protocol):
    """What bookings needs from providers (``ProvidersClient`` in production)."""

    async def schedule_config(self, service_id: uuid.UUID) -> ScheduleConfig: ...

    async def get_provider(self, provider_id: uuid.UUID) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CreatedBooking:
    booking: BookingOut
    manage_token: str


def hash_manage_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


_WRITES_LOCK_NAMESPACE = 0x626B  # "bk": the two-int advisory key space of booking writes
_LOCK_PROVIDER = sa.text(
    "SELECT pg_advisory_xact_lock(:ns, hashtext(CAST(:provider_id AS text)))"
).bindparams(ns=_WRITES_LOCK_NAMESPACE)
_LOCK_PROVIDER_OF_BOOKING = sa.text(
    "SELECT pg_advisory_xact_lock(:ns, hashtext(CAST(provider_id AS text)))"
    " FROM bookings.bookings WHERE id = :booking_id"
).bindparams(ns=_WRITES_LOCK_NAMESPACE)


async def lock_provider(session: AsyncSession, provider_id: uuid.UUID) -> None:
    """Serialise this transaction's booking writes with every other one of the provider.

    Taken first, before any read the write depends on: two transactions inserting
    *different* overlapping ranges into the GiST exclusion constraint can otherwise
    each wait for the other's uncommitted row (PostgreSQL answers one of them with a
    deadlock), and a rule checked on rows read before another booking commits (the daily
    limit) would pass twice. Under this lock every read of the transaction sees all the
    provider's earlier committed writes (READ COMMITTED takes a snapshot per statement).
    It is held until commit or rollback; other providers never wait for it.
    """
    await session.execute(_LOCK_PROVIDER, {"provider_id": str(provider_id)})


async def _lock_provider_of(session: AsyncSession, booking_id: uuid.UUID) -> None:
    """:func:`lock_provider` for the provider of an existing booking (one round trip)."""
    await session.execute(_LOCK_PROVIDER_OF_BOOKING, {"booking_id": booking_id})


def _conflict(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _CONFLICT_SQLSTATES


def _busy_range(start: datetime, end: datetime, before: int, after: int) -> Any:
    return sa.func.tstzrange(
        start - timedelta(minutes=before), end + timedelta(minutes=after), "[)"
    )


# --- reading ---


def booking_out(row: Any, manage_token: str | None = None) -> BookingOut:
    return BookingOut(
        id=row.id,
        status=row.status,
        service_id=row.service_id,
        service_kind=row.service_kind,
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
        notes=row.notes,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        manage_token=manage_token,
    )


async def load_booking(
    session: AsyncSession, booking_id: uuid.UUID, *, for_update: bool = False
) -> Any:
    query = sa.select(bookings).where(bookings.c.id == booking_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise BookingNotFound()
    return row


def resolve_actor(
    row: Any,
    principal: Principal,
    manage_token: str | None,
    owner: Mapping[str, Any] | None,
) -> Actor:
    """Who acts on ``row``: admin, the provider's owner, or the customer holding its token.

    Anyone else gets 404, so a booking's existence is not revealed.
    """
    if principal.is_admin:
        return Actor("admin", principal.subject)
    if owner is not None and principal.owns(owner.get("owner_email"), owner.get("owner_subject")):
        return Actor("owner", principal.subject or principal.email)
    if manage_token and hmac.compare_digest(
        hash_manage_token(manage_token), bytes(row.manage_token_hash)
    ):
        return Actor("customer", row.customer_email)
    raise BookingNotFound()


_BUSY = sa.text(
    """
    SELECT k.service_id, k.start_at, k.end_at, k.buffer_before_minutes,
           k.buffer_after_minutes, k.occurrence_id,
           coalesce(o.seats_taken, b.seats) AS seats
      FROM bookings.busy_blocks k
      LEFT JOIN bookings.bookings b ON b.id = k.booking_id
      LEFT JOIN bookings.occurrences o ON o.id = k.occurrence_id
     WHERE k.provider_id = :provider_id
       AND k.during && tstzrange(:start, :end, '[)')
       AND (CAST(:exclude AS uuid) IS NULL OR k.booking_id IS DISTINCT FROM :exclude)
     ORDER BY k.start_at
    """
)
"""Busy blocks of one provider overlapping a range: served by the GiST index of the
exclusion constraint (``provider_id WITH =, during WITH &&``)."""


async def _busy_rows(
    session: AsyncSession,
    provider_id: uuid.UUID,
    start: datetime,
    end: datetime,
    exclude_booking_id: uuid.UUID | None,
) -> Sequence[Any]:
    result = await session.execute(
        _BUSY,
        {"provider_id": provider_id, "start": start, "end": end, "exclude": exclude_booking_id},
    )
    return result.all()


async def busy_time(
    session: AsyncSession,
    provider_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> BusyTime:
    """The provider's busy blocks overlapping ``[start, end)`` (buffers included)."""
    rows = await _busy_rows(session, provider_id, start, end, None)
    return BusyTime(
        provider_id=provider_id,
        start=start,
        end=end,
        intervals=[
            BusyIntervalOut(
                service_id=r.service_id,
                start=r.start_at,
                end=r.end_at,
                buffer_before_minutes=r.buffer_before_minutes,
                buffer_after_minutes=r.buffer_after_minutes,
                seats=r.seats,
            )
            for r in rows
        ],
        occurrences=[
            OccurrenceSeatsOut(service_id=r.service_id, start=r.start_at, seats_taken=r.seats)
            for r in rows
            if r.occurrence_id is not None
        ],
    )


# --- validation ---


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
    window_start = datetime.combine(day - timedelta(days=1), datetime.min.time(), zone)
    window_end = datetime.combine(day + timedelta(days=2), datetime.min.time(), zone)
    rows = await _busy_rows(
        session, config.provider_id, window_start, window_end, exclude_booking_id
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
        raise NotBookable(exc.reason, f"start is not a bookable slot: {exc.detail}") from exc


def check_change_allowed(row: Any, actor: Actor, config: ScheduleConfig, now: datetime) -> None:
    """Customers change a booking only up to the service's cancellation notice."""
    if actor.kind != "customer":
        return
    notice = timedelta(minutes=config.service.cancellation_notice_minutes)
    if now > row.start_at - notice:
        raise TooLateToChange(
            "Changes by the customer are possible until "
            f"{config.service.cancellation_notice_minutes} minutes before the start; "
            "please contact the provider."
        )


# --- writing ---


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
        actor=actor.kind,
        **extra,
    )


async def _record(
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
    event = _event(row, event_type, actor, reason=reason, previous=previous, data=data)
    await record_event(session, outbox, event)


def _event(
    row: Any,
    event_type: EventType[events.BookingData],
    actor: Actor,
    *,
    reason: str | None = None,
    previous: tuple[datetime, datetime] | None = None,
    data: dict[str, Any] | None = None,
) -> EventEnvelope:
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


async def _take_occurrence(
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
            during=_busy_range(
                start, end, service.buffer_before_minutes, service.buffer_after_minutes
            ),
        )
        .on_conflict_do_nothing(index_elements=["occurrence_id"])
    )
    return occurrence_id


async def _release_occurrence(session: AsyncSession, occurrence_id: uuid.UUID, seats: int) -> None:
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


_CONFIRM_ONE_TO_ONE = sa.text(
    """
    WITH booking AS (
        INSERT INTO bookings.bookings (
            id, provider_id, service_id, service_kind, service_name, provider_name,
            provider_timezone, start_at, end_at, buffer_before_minutes, buffer_after_minutes,
            seats, status, customer_name, customer_email, customer_phone, customer_timezone,
            notes, manage_token_hash, version, created_at, updated_at)
        VALUES (
            :id, :provider_id, :service_id, 'simple', :service_name, :provider_name,
            :provider_timezone, :start_at, :end_at, :buffer_before_minutes,
            :buffer_after_minutes, 1, 'confirmed', :customer_name, :customer_email,
            :customer_phone, :customer_timezone, :notes, :manage_token_hash, 1,
            :created_at, :created_at)
        RETURNING *
    ), block AS (
        INSERT INTO bookings.busy_blocks (
            provider_id, service_id, booking_id, start_at, end_at,
            buffer_before_minutes, buffer_after_minutes, during)
        SELECT provider_id, service_id, id, start_at, end_at,
               buffer_before_minutes, buffer_after_minutes,
               tstzrange(:busy_start, :busy_end, '[)')
          FROM booking
    ), history AS (
        INSERT INTO bookings.booking_history (
            booking_id, version, action, actor, actor_id, status, start_at, end_at, occurred_at)
        SELECT id, 1, 'create', :actor, :actor_id, 'confirmed', start_at, end_at, created_at
          FROM booking
    ), event AS (
        INSERT INTO bookings.outbox (
            id, type, aggregate_id, aggregate_version, provider_id, occurred_at, envelope)
        VALUES (:event_id, 'booking.created', :id, 1, :provider_id, :event_at,
                CAST(:envelope AS jsonb))
    )
    SELECT booking.*, pg_notify(:channel, 'bookings') AS notified FROM booking
    """
)
"""A one-to-one booking in one round trip: the booking, its busy block (the exclusion
constraint decides), its history row and its ``booking.created`` outbox row with the
same ``NOTIFY`` as :func:`calisera.core.outbox.record_event`. It is the hot path, and
all-or-nothing like the rest: a conflict fails the whole statement."""


async def create_booking(
    session: AsyncSession,
    config: ScheduleConfig,
    request: BookingCreate,
    now: datetime,
    actor: Actor,
    *,
    seal_token: Callable[[str], str] | None = None,
) -> CreatedBooking:
    """Confirm a booking of ``request.start`` or raise (409 taken/full, 422 not bookable).

    ``booking.created`` carries the provider's slug (for links) and, when ``seal_token``
    is given, the manage token sealed for the notifications service (see
    :mod:`calisera.core.sealing`); the database keeps only the token's hash.

    What is checked where: everything bookings owns (busy time, seats, the daily
    limit) is read after :func:`lock_provider`, so it is exact. ``config`` (hours, time
    off, suspension, archive: owned by the providers service) is the version
    revalidated with ``If-None-Match`` at the start of the request, outside the
    transaction. Re-fetching it under the lock would hold a pooled connection and the
    provider's lock across a call into providers, whose answer needs a connection of
    the same pool in ``calisera up``: a storm of one provider's bookings would starve
    the pool. A change committed after that revalidation is ordered after the booking,
    which is what it would be had the booking committed a moment earlier: neither a
    change of hours nor a suspension cancels confirmed bookings.
    """
    service = config.service
    start = request.start.astimezone(now.tzinfo)
    await lock_provider(session, config.provider_id)
    await check_start(session, config, start, request.seats, now)
    end = start + timedelta(minutes=service.duration_minutes)
    booking_id = uuid.uuid4()
    manage_token = secrets.token_urlsafe(32)
    created_data: dict[str, Any] = {"provider_slug": config.provider_slug}
    if seal_token is not None:
        created_data["manage_token_sealed"] = seal_token(manage_token)
    values: dict[str, Any] = {
        "id": booking_id,
        "provider_id": config.provider_id,
        "service_id": service.id,
        "service_kind": service.kind,
        "service_name": service.name,
        "provider_name": config.provider_name,
        "provider_timezone": config.timezone,
        "start_at": start,
        "end_at": end,
        "buffer_before_minutes": service.buffer_before_minutes,
        "buffer_after_minutes": service.buffer_after_minutes,
        "seats": request.seats,
        "status": "confirmed",
        "customer_name": request.customer.name,
        "customer_email": str(request.customer.email),
        "customer_phone": request.customer.phone,
        "customer_timezone": request.customer.timezone,
        "notes": request.notes,
        "manage_token_hash": hash_manage_token(manage_token),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    try:
        if service.kind == "simple":
            event = _event(
                SimpleNamespace(**values), events.BOOKING_CREATED, actor, data=created_data
            )
            row = (
                await session.execute(
                    _CONFIRM_ONE_TO_ONE,
                    {
                        **values,
                        "busy_start": start - timedelta(minutes=service.buffer_before_minutes),
                        "busy_end": end + timedelta(minutes=service.buffer_after_minutes),
                        "actor": actor.kind,
                        "actor_id": actor.id,
                        "event_id": event.id,
                        "event_at": event.occurred_at,
                        "envelope": event.model_dump_json(),
                        "channel": OUTBOX_CHANNEL,
                    },
                )
            ).one()
            announce_after_commit(session, event)
            return CreatedBooking(booking_out(row, manage_token), manage_token)
        values["occurrence_id"] = await _take_occurrence(session, config, start, end, request.seats)
        row = (
            await session.execute(bookings.insert().values(**values).returning(*bookings.c))
        ).one()
    except IntegrityError as exc:
        if _conflict(exc):
            raise SlotUnavailable("That time is already taken.", extra={"reason": "taken"}) from exc
        raise
    await _record(session, row, "create", events.BOOKING_CREATED, actor, now, data=created_data)
    return CreatedBooking(booking_out(row, manage_token), manage_token)


async def _update(session: AsyncSession, booking_id: uuid.UUID, **values: Any) -> Any:
    return (
        await session.execute(
            bookings.update()
            .where(bookings.c.id == booking_id)
            .values(version=bookings.c.version + 1, **values)
            .returning(*bookings.c)
        )
    ).one()


async def cancel_booking(
    session: AsyncSession,
    booking_id: uuid.UUID,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    config: ScheduleConfig | None = None,
) -> BookingOut:
    """Cancel and free the time. Cancelling a cancelled booking changes nothing."""
    await _lock_provider_of(session, booking_id)
    row = await load_booking(session, booking_id, for_update=True)
    if row.status == "cancelled":
        return booking_out(row)
    if row.status != "confirmed":
        raise InvalidTransition(f"A booking that is {row.status} cannot be cancelled.")
    if actor.kind == "customer":
        assert config is not None, "customer changes need the service's policy"
        check_change_allowed(row, actor, config, now)
    if row.occurrence_id is None:
        await session.execute(busy_blocks.delete().where(busy_blocks.c.booking_id == booking_id))
    else:
        await _release_occurrence(session, row.occurrence_id, row.seats)
    row = await _update(session, booking_id, status="cancelled", updated_at=now)
    await _record(session, row, "cancel", events.BOOKING_CANCELLED, actor, now, reason=reason)
    return booking_out(row)


async def finish_booking(
    session: AsyncSession,
    booking_id: uuid.UUID,
    status: Literal["completed", "no_show"],
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
) -> BookingOut:
    """Mark a confirmed booking completed or no-show, once it has started."""
    await _lock_provider_of(session, booking_id)
    row = await load_booking(session, booking_id, for_update=True)
    if row.status == status:
        return booking_out(row)
    if row.status != "confirmed":
        raise InvalidTransition(f"A booking that is {row.status} cannot become {status}.")
    if now < row.start_at:
        raise InvalidTransition(f"A booking can be marked {status} only after it has started.")
    row = await _update(session, booking_id, status=status, updated_at=now)
    action = "complete" if status == "completed" else "no_show"
    event_type = events.BOOKING_COMPLETED if status == "completed" else events.BOOKING_NO_SHOW
    await _record(session, row, action, event_type, actor, now, reason=reason)
    return booking_out(row)


async def reschedule_booking(
    session: AsyncSession,
    booking_id: uuid.UUID,
    new_start: datetime,
    actor: Actor,
    config: ScheduleConfig,
    now: datetime,
) -> BookingOut:
    """Move a booking atomically: the old time is freed only if the new one is taken."""
    await _lock_provider_of(session, booking_id)
    row = await load_booking(session, booking_id, for_update=True)
    if row.status != "confirmed":
        raise InvalidTransition(f"A booking that is {row.status} cannot be rescheduled.")
    check_change_allowed(row, actor, config, now)
    start = new_start.astimezone(now.tzinfo)
    if start == row.start_at:
        return booking_out(row)
    await check_start(session, config, start, row.seats, now, exclude_booking_id=booking_id)
    service = config.service
    end = start + timedelta(minutes=service.duration_minutes)
    previous = (row.start_at, row.end_at)
    values: dict[str, Any] = {"start_at": start, "end_at": end, "updated_at": now}
    try:
        if row.occurrence_id is None:
            moved = await session.execute(
                busy_blocks.update()
                .where(busy_blocks.c.booking_id == booking_id)
                .values(
                    start_at=start,
                    end_at=end,
                    buffer_before_minutes=service.buffer_before_minutes,
                    buffer_after_minutes=service.buffer_after_minutes,
                    during=_busy_range(
                        start, end, service.buffer_before_minutes, service.buffer_after_minutes
                    ),
                )
            )
            if getattr(moved, "rowcount", 1) != 1:
                raise InvalidTransition("The booking holds no time to move.")
            values["buffer_before_minutes"] = service.buffer_before_minutes
            values["buffer_after_minutes"] = service.buffer_after_minutes
        else:
            await _release_occurrence(session, row.occurrence_id, row.seats)
            values["occurrence_id"] = await _take_occurrence(session, config, start, end, row.seats)
    except IntegrityError as exc:
        if _conflict(exc):
            raise SlotUnavailable("That time is already taken.", extra={"reason": "taken"}) from exc
        raise
    row = await _update(session, booking_id, **values)
    await _record(
        session, row, "reschedule", events.BOOKING_RESCHEDULED, actor, now, previous=previous
    )
    return booking_out(row)


async def history(session: AsyncSession, booking_id: uuid.UUID) -> list[HistoryEntryOut]:
    h = booking_history
    rows = (
        await session.execute(
            sa.select(h).where(h.c.booking_id == booking_id).order_by(h.c.version, h.c.id)
        )
    ).all()
    return [
        HistoryEntryOut(
            version=r.version,
            action=r.action,
            actor=r.actor,
            actor_id=r.actor_id,
            reason=r.reason,
            status=r.status,
            start=r.start_at,
            end=r.end_at,
            previous_start=r.previous_start_at,
            previous_end=r.previous_end_at,
            occurred_at=r.occurred_at,
        )
        for r in rows
    ]


# --- provider views ---


def encode_cursor(start: datetime, booking_id: uuid.UUID) -> str:
    raw = f"{start.isoformat()}|{booking_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, _, ident = raw.partition("|")
        parsed = datetime.fromisoformat(start)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput.field("cursor", "not a cursor from this list") from exc


async def provider_bookings(
    session: AsyncSession,
    provider_id: uuid.UUID,
    *,
    start_from: datetime | None,
    start_to: datetime | None,
    statuses: Sequence[str] = (),
    service_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[BookingOut], str | None]:
    """Bookings of a provider by (start, id), keyset-paginated."""
    b = bookings
    query = sa.select(b).where(b.c.provider_id == provider_id)
    if start_from is not None:
        query = query.where(b.c.start_at >= start_from)
    if start_to is not None:
        query = query.where(b.c.start_at < start_to)
    if statuses:
        query = query.where(b.c.status.in_(list(statuses)))
    if service_id is not None:
        query = query.where(b.c.service_id == service_id)
    if cursor:
        after_start, after_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(b.c.start_at, b.c.id) > sa.tuple_(after_start, after_id))
    rows = (await session.execute(query.order_by(b.c.start_at, b.c.id).limit(limit + 1))).all()
    items = [booking_out(r) for r in rows[:limit]]
    next_cursor = (
        encode_cursor(rows[limit - 1].start_at, rows[limit - 1].id) if len(rows) > limit else None
    )
    return items, next_cursor
