"""What every bookings route needs before the domain runs: the service's state, who is
acting (admin, the provider's owner, or the customer holding the manage token), the
Idempotency-Key scoped to the caller, and the provider's write queue. Shared by
:mod:`.api`, :mod:`.decision_api`, :mod:`.holds_api`, :mod:`.series_api` and
:mod:`.waitlist_api`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import idempotency, lifecycle, queries
from calisera.bookings.access import Actor, customer_actor
from calisera.bookings.errors import BookingNotFound
from calisera.bookings.transactions import write_transaction
from calisera.core.auth import Principal
from calisera.core.errors import NotFound
from calisera.core.ownership import authorize_provider
from calisera.core.platform import Platform
from calisera.core.sealing import MANAGE_TOKEN_PURPOSE, seal

T = TypeVar("T")

ManageToken = Annotated[str | None, Header(alias="X-Manage-Token")]
IdempotencyKeyHeader = Annotated[
    Annotated[
        str,
        StringConstraints(
            min_length=idempotency.MIN_KEY_LENGTH,
            max_length=idempotency.MAX_KEY_LENGTH,
            pattern=r"^[!-~]+$",
        ),
    ]
    | None,
    Header(
        alias="Idempotency-Key",
        description="16-255 printable ASCII characters (no spaces), e.g. a UUID.",
    ),
]


@dataclass
class BookingsState:
    """Process-wide objects of the bookings service (``platform.get(BookingsState)``)."""

    schedules: lifecycle.ScheduleSource
    idempotency_secret: bytes


def state_of(platform: Platform) -> BookingsState:
    return platform.get(BookingsState)


def schedules_of(platform: Platform) -> lifecycle.ScheduleSource:
    return state_of(platform).schedules


def scoped_idempotency_key(
    platform: Platform, operation: str, header: str | None, principal: Principal
) -> idempotency.IdempotencyKey | None:
    """The request's Idempotency-Key, scoped to the operation and the caller."""
    caller = None
    if principal.is_admin:
        caller = "admin"
    elif principal.is_authenticated:
        caller = f"user:{principal.subject or principal.email}"
    return idempotency.parse_key(
        operation, header, principal=caller, secret=state_of(platform).idempotency_secret
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


async def actor_for(
    platform: Platform,
    row: Any,
    principal: Principal,
    manage_token: str | None,
    *,
    staff_only: bool,
) -> Actor:
    """Admin or the provider's owner first, else the customer holding the token; 404
    (never "provider not found", which would tell that the booking exists) otherwise."""
    if principal.is_authenticated:
        try:
            owned = await authorize_provider(platform.owners, principal, row.provider_id)
        except NotFound:
            if staff_only:
                raise BookingNotFound() from None
        else:
            return Actor.of(owned)
    if staff_only:
        principal.require_authenticated()
        raise BookingNotFound()
    return customer_actor(row, manage_token)


async def load_for(
    session: AsyncSession,
    platform: Platform,
    booking_id: uuid.UUID,
    principal: Principal,
    manage_token: str | None,
    *,
    staff_only: bool = False,
) -> tuple[Any, Actor]:
    if not manage_token or staff_only:
        principal.require_authenticated()
    async with session.begin():
        row = await queries.load_booking(session, booking_id)
    actor = await actor_for(platform, row, principal, manage_token, staff_only=staff_only)
    return row, actor


async def provider_write(
    platform: Platform,
    session: AsyncSession,
    provider_id: uuid.UUID,
    work: Callable[[], Awaitable[T]],
) -> T:
    """``work`` as the provider's next write of this process, then in its transaction."""
    async with platform.db.provider_queue.turn(provider_id):
        return await write_transaction(session, work)


@dataclass(frozen=True)
class Booker:
    """Who books a service, and what the booking needs to know of them."""

    schedules: lifecycle.ScheduleSource
    provider_id: uuid.UUID
    actor: Actor
    seal_token: Callable[[str], str] | None
    staff: bool
    """The admin or the provider's owner booking for a client: required questions may
    stay unanswered."""


async def booker_for(
    platform: Platform, principal: Principal, service_id: uuid.UUID, customer_email: str
) -> Booker:
    """The service's provider (404 for an unknown service) and who is booking it: the
    admin as themselves, anyone else as the customer."""
    schedules = schedules_of(platform)
    provider_id = await schedules.provider_of(service_id)
    actor = (
        Actor("admin", principal.subject)
        if principal.is_admin
        else Actor("customer", customer_email)
    )
    return Booker(
        schedules,
        provider_id,
        actor,
        token_sealer(platform),
        await is_staff(platform, principal, provider_id),
    )


async def idempotent_write(
    platform: Platform,
    session: AsyncSession,
    provider_id: uuid.UUID,
    key: idempotency.IdempotencyKey | None,
    request_json: Any,
    status_code: int,
    now: datetime,
    work: Callable[[], Awaitable[dict[str, Any]]],
) -> JSONResponse:
    """``work`` as a provider write, at most once per Idempotency-Key: a retry with the key
    and the same body replays the stored answer; a failure releases the key, so the
    retry runs again (:mod:`calisera.bookings.idempotency`)."""
    if key is not None:
        stored = await idempotency.claim(
            platform.db.sessionmaker, key, idempotency.request_hash(request_json), now
        )
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status_code)

    async def recorded() -> dict[str, Any]:
        answer = await work()
        if key is not None:
            await idempotency.record_response(session, key, status_code, answer, now)
        return answer

    try:
        payload = await provider_write(platform, session, provider_id, recorded)
    except BaseException:
        if key is not None:
            await idempotency.release(platform.db.sessionmaker, key)
        raise
    return JSONResponse(payload, status_code=status_code)


# --- public routes ---


async def is_staff(platform: Platform, principal: Principal, provider_id: uuid.UUID) -> bool:
    """The admin or the provider's owner: they book for a client and may not know the
    answers to required questions (what they do answer is still checked)."""
    if not principal.is_authenticated:
        return False
    try:
        await authorize_provider(platform.owners, principal, provider_id)
    except NotFound:
        return False
    return True


def token_sealer(
    platform: Platform, purpose: str = MANAGE_TOKEN_PURPOSE
) -> Callable[[str], str] | None:
    """Seals a token for the notifications service (a manage token unless ``purpose``
    says otherwise: a waitlist entry's is sealed under ``WAITLIST_TOKEN_PURPOSE``)."""
    secret = platform.settings.admin_token_value
    if not secret:
        return None
    return lambda token: seal(secret, purpose, token)


async def kind_of(schedules: lifecycle.ScheduleSource, service_id: uuid.UUID) -> str | None:
    """The service's kind for the conflict metric (from the schedule cache)."""
    try:
        return (await schedules.schedule_config(service_id)).service.kind
    except Exception:  # a metric label never turns a 409 into another answer
        return None
