"""A booking's life: confirm, reschedule, cancel, complete or no-show.

Functions take the caller's session and never commit: the route owns the transaction
(:func:`calisera.bookings.transactions.write_transaction`). Each write takes its
provider's lock first (:mod:`calisera.bookings.locks`); create and reschedule then
revalidate the provider's schedule with the providers service, so hours, time off,
suspension and archive are checked as of the lock (the providers service takes the
same lock when it changes them, :mod:`calisera.core.locks`). The service's limits
(daily, weekly, per customer) are checked under the same lock, so concurrent bookings
cannot both pass a count (:mod:`calisera.bookings.customer_limits`). Seats that a
cancel or a move frees are offered to the occurrence's waitlist before the commit
(:mod:`calisera.bookings.waitlist_offers`). Double booking is
made impossible by the database (see :mod:`calisera.bookings.models`); the checks only
give good messages. A constraint violation (exclusion 23P01 or CHECK 23514) becomes
:class:`SlotUnavailable` and the transaction rolls back with everything it wrote.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import events
from calisera.bookings.access import Actor, hash_manage_token
from calisera.bookings.answers import checked_answers
from calisera.bookings.busy_time import busy_range
from calisera.bookings.customer_limits import check_customer_limits
from calisera.bookings.errors import InvalidTransition, SlotUnavailable
from calisera.bookings.expiry import expire_stale
from calisera.bookings.holds import consume_hold
from calisera.bookings.locks import lock_provider, lock_provider_of
from calisera.bookings.models import bookings, busy_blocks
from calisera.bookings.occurrences import (
    release_booking_time,
    release_seats,
    take_seats,
    update_booking,
)
from calisera.bookings.queries import booking_out, load_booking
from calisera.bookings.records import booking_event, record_change
from calisera.bookings.rules import check_change_allowed, check_start
from calisera.bookings.schemas import BookingCreate, BookingOut, Customer
from calisera.bookings.waitlist_offers import offer_free_seats, serve_waitlist_first
from calisera.core.outbox import OUTBOX_CHANNEL, announce_after_commit
from calisera.providers.schemas import ScheduleConfig

_CONFLICT_SQLSTATES = frozenset({"23P01", "23514"})  # exclusion violation, CHECK violation


class ScheduleSource(Protocol):
    """What bookings needs from providers (``ProvidersClient`` in production)."""

    async def schedule_config(self, service_id: uuid.UUID) -> ScheduleConfig:
        """The current schedule of the service (``NotFound`` for an unknown one)."""
        ...

    async def provider_of(self, service_id: uuid.UUID) -> uuid.UUID:
        """The service's provider (a service never changes provider: may be cached)."""
        ...

    async def get_provider(self, provider_id: uuid.UUID) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CreatedBooking:
    booking: BookingOut
    manage_token: str


def _conflict(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _CONFLICT_SQLSTATES


_CONFIRM_ONE_TO_ONE = sa.text(
    """
    WITH booking AS (
        INSERT INTO bookings.bookings (
            id, provider_id, service_id, service_kind, service_name, provider_name,
            provider_timezone, start_at, end_at, buffer_before_minutes, buffer_after_minutes,
            seats, status, customer_name, customer_email, customer_phone, customer_timezone,
            notes, answers, manage_token_hash, version, created_at, updated_at, expires_at)
        VALUES (
            :id, :provider_id, :service_id, 'simple', :service_name, :provider_name,
            :provider_timezone, :start_at, :end_at, :buffer_before_minutes,
            :buffer_after_minutes, 1, :status, :customer_name, :customer_email,
            :customer_phone, :customer_timezone, :notes, CAST(:answers_json AS jsonb),
            :manage_token_hash, 1,
            :created_at, :created_at, :expires_at)
        RETURNING *
    ), block AS (
        INSERT INTO bookings.busy_blocks (
            provider_id, service_id, booking_id, start_at, end_at,
            buffer_before_minutes, buffer_after_minutes, during, expires_at)
        SELECT provider_id, service_id, id, start_at, end_at,
               buffer_before_minutes, buffer_after_minutes,
               tstzrange(:busy_start, :busy_end, '[)'), expires_at
          FROM booking
    ), history AS (
        INSERT INTO bookings.booking_history (
            booking_id, version, action, actor, actor_id, status, start_at, end_at, occurred_at)
        SELECT id, 1, :action, :actor, :actor_id, status, start_at, end_at, created_at
          FROM booking
    ), event AS (
        INSERT INTO bookings.outbox (
            id, type, aggregate_id, aggregate_version, provider_id, occurred_at, envelope)
        VALUES (:event_id, :event_type, :id, 1, :provider_id, :event_at,
                CAST(:envelope AS jsonb))
    )
    SELECT booking.*, pg_notify(:channel, 'bookings') AS notified FROM booking
    """
)
"""A one-to-one booking in one round trip: the booking, its busy block (the exclusion
constraint decides), its history row and its ``booking.created`` outbox row with the
same ``NOTIFY`` as :func:`calisera.core.outbox.record_event`. It is the hot path, and
all-or-nothing like the rest: a conflict fails the whole statement. A request
(``pending``) is written the same way, its block carrying its ``expires_at``."""


class BookingRequest(Protocol):
    """What a customer gives for a booking (a single one or a series)."""

    @property
    def seats(self) -> int: ...
    @property
    def customer(self) -> Customer: ...
    @property
    def notes(self) -> str | None: ...


def new_booking_values(
    config: ScheduleConfig,
    request: BookingRequest,
    start: datetime,
    answers: list[dict[str, Any]],
    now: datetime,
    *,
    manage_token_hash: bytes,
    series_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The row of a new booking of ``start``: ``pending`` until the provider answers when
    the service requires confirmation, else ``confirmed``."""
    service = config.service
    requested = service.requires_confirmation
    return {
        "id": uuid.uuid4(),
        "provider_id": config.provider_id,
        "service_id": service.id,
        "service_kind": service.kind,
        "service_name": service.name,
        "provider_name": config.provider_name,
        "provider_timezone": config.timezone,
        "start_at": start,
        "end_at": start + timedelta(minutes=service.duration_minutes),
        "buffer_before_minutes": service.buffer_before_minutes,
        "buffer_after_minutes": service.buffer_after_minutes,
        "seats": request.seats,
        "status": "pending" if requested else "confirmed",
        "customer_name": request.customer.name,
        "customer_email": str(request.customer.email),
        "customer_phone": request.customer.phone,
        "customer_timezone": request.customer.timezone,
        "notes": request.notes,
        "answers": answers,
        "manage_token_hash": manage_token_hash,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "expires_at": (
            now + timedelta(minutes=service.confirmation_timeout_minutes) if requested else None
        ),
        "series_id": series_id,
    }


async def insert_group_booking(
    session: AsyncSession, config: ScheduleConfig, values: dict[str, Any]
) -> Any:
    """Take the seats of an event's or class's occurrence and write the booking; the row.
    Raises :class:`SlotUnavailable` when the seats or the provider's time are gone (the
    caller's transaction, or savepoint, is then to be rolled back)."""
    try:
        values["occurrence_id"] = await take_seats(
            session, config, values["start_at"], values["end_at"], values["seats"]
        )
        return (
            await session.execute(bookings.insert().values(**values).returning(*bookings.c))
        ).one()
    except IntegrityError as exc:
        if _conflict(exc):
            raise SlotUnavailable("That time is already taken.", extra={"reason": "taken"}) from exc
        raise


async def create_booking(
    session: AsyncSession,
    schedules: ScheduleSource,
    provider_id: uuid.UUID,
    request: BookingCreate,
    now: datetime,
    actor: Actor,
    *,
    seal_token: Callable[[str], str] | None = None,
    answers_required: bool = True,
) -> CreatedBooking:
    """Confirm a booking of ``request.start`` or raise (409 taken/full, 422 not bookable).

    With ``request.hold_id`` the hold is given back first, in this transaction under
    the lock, so the booking takes the held time and nobody else can
    (:mod:`calisera.bookings.holds`). A service that requires confirmation gets a
    ``pending`` request instead, holding
    the time (in the same constraint) until it is answered or expires; the provider's
    expired requests are expired first, under the lock (:mod:`calisera.bookings.expiry`).

    ``provider_id`` is the service's provider (:meth:`ScheduleSource.provider_of`).
    ``request.answers`` are checked against the service's questions as read under the
    lock (:mod:`calisera.bookings.answers`); ``answers_required`` is false when the
    provider books for a client (required questions may then stay unanswered).
    ``booking.created`` carries the provider's slug (for links) and, when ``seal_token``
    is given, the manage token sealed for the notifications service (see
    :mod:`calisera.core.sealing`); the database keeps only the token's hash.
    """
    await lock_provider(session, provider_id)
    await expire_stale(session, provider_id, now)
    config = await schedules.schedule_config(request.service_id)
    service = config.service
    start = request.start.astimezone(now.tzinfo)
    answers = checked_answers(service.questions, request.answers, required=answers_required)
    await serve_waitlist_first(session, config, start, now)
    if request.hold_id is not None:
        await consume_hold(session, request.hold_id, provider_id, service.id, start, request.seats)
    await check_start(session, config, start, request.seats, now)
    end = start + timedelta(minutes=service.duration_minutes)
    await check_customer_limits(session, service, str(request.customer.email), start, end, now)
    manage_token = secrets.token_urlsafe(32)
    created_data: dict[str, Any] = {"provider_slug": config.provider_slug}
    if seal_token is not None:
        created_data["manage_token_sealed"] = seal_token(manage_token)
    values = new_booking_values(
        config,
        request,
        start,
        answers,
        now,
        manage_token_hash=hash_manage_token(manage_token),
    )
    requested = values["status"] == "pending"
    event_type = events.BOOKING_REQUESTED if requested else events.BOOKING_CREATED
    action = "request" if requested else "create"
    expires_at = values["expires_at"]
    if requested:
        created_data["expires_at"] = expires_at
    if service.kind != "simple":
        row = await insert_group_booking(session, config, values)
        await record_change(session, row, action, event_type, actor, now, data=created_data)
        return CreatedBooking(booking_out(row, manage_token), manage_token)
    event = booking_event(SimpleNamespace(**values), event_type, actor, data=created_data)
    try:
        row = (
            await session.execute(
                _CONFIRM_ONE_TO_ONE,
                {
                    **values,
                    "busy_start": start - timedelta(minutes=service.buffer_before_minutes),
                    "busy_end": end + timedelta(minutes=service.buffer_after_minutes),
                    "actor": actor.kind,
                    "actor_id": actor.id,
                    "action": action,
                    "event_type": event_type.name,
                    "event_id": event.id,
                    "event_at": event.occurred_at,
                    "envelope": event.model_dump_json(),
                    "answers_json": json.dumps(answers),
                    "channel": OUTBOX_CHANNEL,
                },
            )
        ).one()
    except IntegrityError as exc:
        if _conflict(exc):
            raise SlotUnavailable("That time is already taken.", extra={"reason": "taken"}) from exc
        raise
    announce_after_commit(session, event)
    return CreatedBooking(booking_out(row, manage_token), manage_token)


async def cancel_booking(
    session: AsyncSession,
    booking_id: uuid.UUID,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    config: ScheduleConfig | None = None,
) -> BookingOut:
    """Cancel and free the time. Cancelling a cancelled booking changes nothing, nor does
    cancelling a request that already ended (declined, expired). A customer may withdraw
    a pending request at any time (the cancellation notice is for confirmed bookings).

    ``config`` gives a customer's cancellation notice; it needs no revalidation under
    the lock, since freeing time never breaks the schedule.
    """
    await lock_provider_of(session, booking_id)
    row = await load_booking(session, booking_id, for_update=True)
    if row.status == "pending" and row.expires_at <= now:
        await expire_stale(session, row.provider_id, now)
        row = await load_booking(session, booking_id)
    if row.status in ("cancelled", "expired", "declined"):
        return booking_out(row)
    if row.status not in ("confirmed", "pending"):
        raise InvalidTransition(f"A booking that is {row.status} cannot be cancelled.")
    if actor.kind == "customer" and row.status == "confirmed":
        assert config is not None, "customer changes need the service's policy"
        check_change_allowed(row, actor, config, now, "cancel")
    await release_booking_time(session, row)
    row = await update_booking(session, booking_id, status="cancelled", updated_at=now)
    await record_change(session, row, "cancel", events.BOOKING_CANCELLED, actor, now, reason=reason)
    if row.occurrence_id is not None:
        await offer_free_seats(session, row.provider_id, now)
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
    await lock_provider_of(session, booking_id)
    row = await load_booking(session, booking_id, for_update=True)
    if row.status == status:
        return booking_out(row)
    if row.status != "confirmed":
        raise InvalidTransition(f"A booking that is {row.status} cannot become {status}.")
    if now < row.start_at:
        raise InvalidTransition(f"A booking can be marked {status} only after it has started.")
    row = await update_booking(session, booking_id, status=status, updated_at=now)
    action = "complete" if status == "completed" else "no_show"
    event_type = events.BOOKING_COMPLETED if status == "completed" else events.BOOKING_NO_SHOW
    await record_change(session, row, action, event_type, actor, now, reason=reason)
    return booking_out(row)


async def reschedule_booking(
    session: AsyncSession,
    schedules: ScheduleSource,
    booking_id: uuid.UUID,
    new_start: datetime,
    actor: Actor,
    now: datetime,
) -> BookingOut:
    """Move a booking atomically: the old time is freed only if the new one is taken.
    Only confirmed bookings move; a request is declined or withdrawn instead."""
    await lock_provider_of(session, booking_id)
    row = await load_booking(session, booking_id, for_update=True)
    await expire_stale(session, row.provider_id, now)
    if row.status != "confirmed":
        raise InvalidTransition(f"A booking that is {row.status} cannot be rescheduled.")
    config = await schedules.schedule_config(row.service_id)
    check_change_allowed(row, actor, config, now, "reschedule")
    start = new_start.astimezone(now.tzinfo)
    if start == row.start_at:
        return booking_out(row)
    await check_start(session, config, start, row.seats, now, exclude_booking_id=booking_id)
    service = config.service
    end = start + timedelta(minutes=service.duration_minutes)
    await check_customer_limits(
        session, service, row.customer_email, start, end, now, exclude_booking_id=booking_id
    )
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
                    during=busy_range(
                        start, end, service.buffer_before_minutes, service.buffer_after_minutes
                    ),
                )
            )
            if getattr(moved, "rowcount", 1) != 1:
                raise InvalidTransition("The booking holds no time to move.")
            values["buffer_before_minutes"] = service.buffer_before_minutes
            values["buffer_after_minutes"] = service.buffer_after_minutes
        else:
            await serve_waitlist_first(session, config, start, now)
            await release_seats(session, row.occurrence_id, row.seats)
            values["occurrence_id"] = await take_seats(session, config, start, end, row.seats)
    except IntegrityError as exc:
        if _conflict(exc):
            raise SlotUnavailable("That time is already taken.", extra={"reason": "taken"}) from exc
        raise
    row = await update_booking(session, booking_id, **values)
    await record_change(
        session, row, "reschedule", events.BOOKING_RESCHEDULED, actor, now, previous=previous
    )
    if row.occurrence_id is not None:  # the seats left behind go to the old time's line
        await offer_free_seats(session, row.provider_id, now)
    return booking_out(row)
