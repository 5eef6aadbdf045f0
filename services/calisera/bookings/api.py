"""HTTP routes of the bookings service: parse, authorize, call the domain, shape the answer.

Routes own the transaction (:func:`calisera.bookings.transactions.write_transaction`);
the domain lives in :mod:`calisera.bookings.lifecycle` and
:mod:`calisera.bookings.queries`. Who may act: the platform admin and the provider's
owner (:mod:`calisera.core.ownership`, one rule for every service) and the customer
holding the manage token; anyone else is told the booking (or the provider) does not
exist. Writes of one provider queue in-process before taking a pooled connection
(:class:`calisera.core.locks.ProviderQueue`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import idempotency, lifecycle, queries
from calisera.bookings.access import Actor, customer_actor
from calisera.bookings.busy_time import busy_time as busy_time_of
from calisera.bookings.calendar import booking_calendar
from calisera.bookings.errors import BookingNotFound
from calisera.bookings.schemas import (
    BookingAction,
    BookingCreate,
    BookingHistoryOut,
    BookingOut,
    BookingPage,
    BookingReschedule,
    BookingStatus,
    BusyTime,
)
from calisera.bookings.transactions import write_transaction
from calisera.core.auth import CurrentPrincipal, Principal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import InvalidInput, NotFound
from calisera.core.ownership import ExistingOwnedProviderDep, authorize_provider
from calisera.core.platform import Platform, ServiceSpec
from calisera.core.sealing import MANAGE_TOKEN_PURPOSE, seal
from calisera.providers.client import ProvidersClient

router = APIRouter(tags=["bookings"])
internal = APIRouter(tags=["bookings-internal"], include_in_schema=False)

ManageToken = Annotated[str | None, Header(alias="X-Manage-Token")]
IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]
T = TypeVar("T")


@dataclass
class BookingsState:
    """Process-wide objects of the bookings service (``platform.get(BookingsState)``)."""

    schedules: lifecycle.ScheduleSource
    idempotency_secret: bytes


def _state(platform: Platform) -> BookingsState:
    return platform.get(BookingsState)


def _schedules(platform: Platform) -> lifecycle.ScheduleSource:
    return _state(platform).schedules


def _idempotency_key(
    platform: Platform, operation: str, header: str | None, principal: Principal
) -> idempotency.IdempotencyKey | None:
    """The request's Idempotency-Key, scoped to the operation and the caller."""
    caller = None
    if principal.is_admin:
        caller = "admin"
    elif principal.is_authenticated:
        caller = f"user:{principal.subject or principal.email}"
    return idempotency.parse_key(
        operation, header, principal=caller, secret=_state(platform).idempotency_secret
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def _actor(
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


async def _load_for(
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
    actor = await _actor(platform, row, principal, manage_token, staff_only=staff_only)
    return row, actor


async def _provider_write(
    platform: Platform,
    session: AsyncSession,
    provider_id: uuid.UUID,
    work: Callable[[], Awaitable[T]],
) -> T:
    """``work`` as the provider's next write of this process, then in its transaction."""
    async with platform.db.provider_queue.turn(provider_id):
        return await write_transaction(session, work)


# --- public routes ---


def _token_sealer(platform: Platform) -> Callable[[str], str] | None:
    secret = platform.settings.admin_token_value
    if not secret:
        return None
    return lambda token: seal(secret, MANAGE_TOKEN_PURPOSE, token)


@router.post("/api/v1/bookings", status_code=201, response_model=BookingOut)
async def create_booking(
    body: BookingCreate,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    key = _idempotency_key(platform, "create", idempotency_key, principal)
    now = _now()
    if key is not None:
        stored = await idempotency.claim(
            platform.db.sessionmaker,
            key,
            idempotency.request_hash(body.model_dump(mode="json")),
            now,
        )
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status_code)
    try:
        schedules = _schedules(platform)
        provider_id = await schedules.provider_of(body.service_id)
        actor = (
            Actor("admin", principal.subject)
            if principal.is_admin
            else Actor("customer", str(body.customer.email))
        )
        sealer = _token_sealer(platform)

        async def work() -> dict[str, Any]:
            created = await lifecycle.create_booking(
                session, schedules, provider_id, body, now, actor, seal_token=sealer
            )
            answer = created.booking.model_dump(mode="json")
            if key is not None:
                await idempotency.record_response(session, key, 201, answer, now)
            return answer

        payload = await _provider_write(platform, session, provider_id, work)
    except BaseException:
        if key is not None:
            await idempotency.release(platform.db.sessionmaker, key)
        raise
    return JSONResponse(payload, status_code=201)


@router.get("/api/v1/bookings/{booking_id}", response_model=BookingOut)
async def get_booking(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    manage_token: ManageToken = None,
) -> BookingOut:
    row, _ = await _load_for(session, platform, booking_id, principal, manage_token)
    return queries.booking_out(row)


@router.post("/api/v1/bookings/{booking_id}/cancel", response_model=BookingOut)
async def cancel_booking(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    body: BookingAction | None = None,
    manage_token: ManageToken = None,
) -> BookingOut:
    row, actor = await _load_for(session, platform, booking_id, principal, manage_token)
    config = None
    if actor.kind == "customer":
        config = await _schedules(platform).schedule_config(row.service_id)
    reason = body.reason if body else None
    return await _provider_write(
        platform,
        session,
        row.provider_id,
        lambda: lifecycle.cancel_booking(
            session, booking_id, actor, _now(), reason=reason, config=config
        ),
    )


@router.post("/api/v1/bookings/{booking_id}/reschedule", response_model=BookingOut)
async def reschedule_booking(
    booking_id: uuid.UUID,
    body: BookingReschedule,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    manage_token: ManageToken = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    row, actor = await _load_for(session, platform, booking_id, principal, manage_token)
    key = _idempotency_key(platform, f"reschedule:{booking_id}", idempotency_key, principal)
    now = _now()
    if key is not None:
        stored = await idempotency.claim(
            platform.db.sessionmaker,
            key,
            idempotency.request_hash(body.model_dump(mode="json")),
            now,
        )
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status_code)
    try:
        schedules = _schedules(platform)

        async def work() -> dict[str, Any]:
            result = await lifecycle.reschedule_booking(
                session, schedules, booking_id, body.start, actor, now
            )
            answer = result.model_dump(mode="json")
            if key is not None:
                await idempotency.record_response(session, key, 200, answer, now)
            return answer

        payload = await _provider_write(platform, session, row.provider_id, work)
    except BaseException:
        if key is not None:
            await idempotency.release(platform.db.sessionmaker, key)
        raise
    return JSONResponse(payload, status_code=200)


async def _finish(
    booking_id: uuid.UUID,
    status: Any,
    session: AsyncSession,
    platform: Platform,
    principal: Principal,
    body: BookingAction | None,
) -> BookingOut:
    row, actor = await _load_for(session, platform, booking_id, principal, None, staff_only=True)
    reason = body.reason if body else None
    return await _provider_write(
        platform,
        session,
        row.provider_id,
        lambda: lifecycle.finish_booking(session, booking_id, status, actor, _now(), reason=reason),
    )


@router.post("/api/v1/bookings/{booking_id}/complete", response_model=BookingOut)
async def complete_booking(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    body: BookingAction | None = None,
) -> BookingOut:
    return await _finish(booking_id, "completed", session, platform, principal, body)


@router.post("/api/v1/bookings/{booking_id}/no-show", response_model=BookingOut)
async def mark_no_show(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    body: BookingAction | None = None,
) -> BookingOut:
    return await _finish(booking_id, "no_show", session, platform, principal, body)


@router.get("/api/v1/bookings/{booking_id}/history", response_model=BookingHistoryOut)
async def booking_history(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
) -> BookingHistoryOut:
    await _load_for(session, platform, booking_id, principal, None, staff_only=True)
    async with session.begin():
        items = await queries.history(session, booking_id)
    return BookingHistoryOut(booking_id=booking_id, items=items)


@router.get(
    "/api/v1/bookings/{booking_id}/ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def booking_ics(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    manage_token: ManageToken = None,
) -> Response:
    row, _ = await _load_for(session, platform, booking_id, principal, manage_token)
    provider = await _schedules(platform).get_provider(row.provider_id)
    contact = provider.get("contact") or {}
    return Response(
        booking_calendar(row, organizer_email=contact.get("email") or provider.get("owner_email")),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking_id}.ics"'},
    )


@router.get("/api/v1/providers/{provider_id}/bookings", response_model=BookingPage)
async def provider_bookings(
    provider: ExistingOwnedProviderDep,
    session: SessionDep,
    start_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    start_to: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    status: Annotated[list[BookingStatus] | None, Query()] = None,
    service_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> BookingPage:
    if start_from and start_to and start_to <= start_from:
        raise InvalidInput.field("to", "must be after 'from'")
    async with session.begin():
        items, next_cursor = await queries.provider_bookings(
            session,
            provider.id,
            start_from=start_from,
            start_to=start_to,
            statuses=status or (),
            service_id=service_id,
            limit=limit,
            cursor=cursor,
        )
    return BookingPage(items=items, next_cursor=next_cursor)


# --- internal routes (admin token; not routed by the public ingress) ---


@internal.get("/internal/v1/bookings/busy", response_model=BusyTime)
async def busy_time(
    provider_id: uuid.UUID,
    start: AwareDatetime,
    end: AwareDatetime,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> BusyTime:
    principal.require_admin()
    if end <= start:
        raise InvalidInput.field("end", "must be after start")
    async with session.begin():
        return await busy_time_of(session, provider_id, start, end)


# --- wiring ---


async def _purge_idempotency_keys(platform: Platform) -> None:
    while True:
        async with platform.db.sessionmaker() as session, session.begin():
            await idempotency.purge_expired(session, _now())
        await asyncio.sleep(3600)


@contextlib.asynccontextmanager
async def lifespan(platform: Platform) -> AsyncIterator[None]:
    client = ProvidersClient(platform)
    secret = idempotency.lookup_secret(platform.settings.admin_token_value)
    platform.provide(BookingsState(schedules=client, idempotency_secret=secret))
    purger = asyncio.create_task(_purge_idempotency_keys(platform))
    try:
        yield
    finally:
        purger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purger
        platform.discard(BookingsState)
        await client.aclose()


spec = ServiceSpec(
    name="bookings",
    routers=[router, internal],
    schema="bookings",
    lifespan=lifespan,
)
