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
from collections.abc import AsyncIterator
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import expiry, idempotency, lifecycle, metrics, queries, series
from calisera.bookings.busy_time import busy_time as busy_time_of
from calisera.bookings.calendar import booking_calendar
from calisera.bookings.deps import (
    BookingsState,
    IdempotencyKeyHeader,
    ManageToken,
    booker_for,
    idempotent_write,
    kind_of,
    load_for,
    provider_write,
    schedules_of,
    scoped_idempotency_key,
    utc_now,
)
from calisera.bookings.errors import (
    HoldExpired,
    InvalidTransition,
    LimitReached,
    NotBookable,
    SlotUnavailable,
)
from calisera.bookings.schemas import (
    BookingAction,
    BookingCancel,
    BookingCreate,
    BookingHistoryOut,
    BookingOut,
    BookingPage,
    BookingReschedule,
    BookingStatus,
    BusyTime,
)
from calisera.core.auth import CurrentPrincipal, Principal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import Conflict, InvalidInput
from calisera.core.openapi import problem_responses
from calisera.core.ownership import ExistingOwnedProviderDep
from calisera.core.pagination import DEFAULT_LIMIT, Cursor, Limit
from calisera.core.platform import Platform, ServiceSpec
from calisera.core.values import Instant
from calisera.providers.client import ProvidersClient

log = structlog.get_logger("calisera.bookings")
router = APIRouter(tags=["bookings"])
internal = APIRouter(tags=["bookings-internal"], include_in_schema=False)


@router.post(
    "/api/v1/bookings",
    status_code=201,
    response_model=BookingOut,
    responses=problem_responses(404, SlotUnavailable, NotBookable, HoldExpired, LimitReached),
)
async def create_booking(
    body: BookingCreate,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    key = scoped_idempotency_key(platform, "create", idempotency_key, principal)
    now = utc_now()
    booker = await booker_for(platform, principal, body.service_id, str(body.customer.email))

    async def work() -> dict[str, Any]:
        created = await lifecycle.create_booking(
            session,
            booker.schedules,
            booker.provider_id,
            body,
            now,
            booker.actor,
            seal_token=booker.seal_token,
            answers_required=not booker.staff,
        )
        return created.booking.model_dump(mode="json")

    try:
        return await idempotent_write(
            platform, session, booker.provider_id, key, body.model_dump(mode="json"), 201, now, work
        )
    except SlotUnavailable:
        metrics.count_conflict(await kind_of(booker.schedules, body.service_id), "create")
        raise


@router.get("/api/v1/bookings/{booking_id}", response_model=BookingOut)
async def get_booking(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    manage_token: ManageToken = None,
) -> BookingOut:
    row, _ = await load_for(session, platform, booking_id, principal, manage_token)
    return queries.booking_out(row)


@router.post(
    "/api/v1/bookings/{booking_id}/cancel",
    response_model=BookingOut,
    responses=problem_responses(Conflict),
)
async def cancel_booking(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    body: BookingCancel | None = None,
    manage_token: ManageToken = None,
) -> BookingOut:
    """Cancel the booking (``scope`` ``rest``: with the rest of its class series); its
    time is free at once. The customer is told, once for the whole change."""
    row, actor = await load_for(session, platform, booking_id, principal, manage_token)
    config = None
    if actor.kind == "customer":
        config = await schedules_of(platform).schedule_config(row.service_id)
    reason = body.reason if body else None
    cancel = series.cancel_rest if body and body.scope == "rest" else lifecycle.cancel_booking
    return await provider_write(
        platform,
        session,
        row.provider_id,
        lambda: cancel(session, booking_id, actor, utc_now(), reason=reason, config=config),
    )


@router.post(
    "/api/v1/bookings/{booking_id}/reschedule",
    response_model=BookingOut,
    responses=problem_responses(Conflict),
)
async def reschedule_booking(
    booking_id: uuid.UUID,
    body: BookingReschedule,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    manage_token: ManageToken = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    row, actor = await load_for(session, platform, booking_id, principal, manage_token)
    key = scoped_idempotency_key(platform, f"reschedule:{booking_id}", idempotency_key, principal)
    now = utc_now()
    schedules = schedules_of(platform)

    async def work() -> dict[str, Any]:
        result = await lifecycle.reschedule_booking(
            session, schedules, booking_id, body.start, actor, now
        )
        return result.model_dump(mode="json")

    try:
        return await idempotent_write(
            platform, session, row.provider_id, key, body.model_dump(mode="json"), 200, now, work
        )
    except SlotUnavailable:
        metrics.count_conflict(row.service_kind, "reschedule")
        raise


async def _finish(
    booking_id: uuid.UUID,
    status: Any,
    session: AsyncSession,
    platform: Platform,
    principal: Principal,
    body: BookingAction | None,
) -> BookingOut:
    row, actor = await load_for(session, platform, booking_id, principal, None, staff_only=True)
    reason = body.reason if body else None
    return await provider_write(
        platform,
        session,
        row.provider_id,
        lambda: lifecycle.finish_booking(
            session, booking_id, status, actor, utc_now(), reason=reason
        ),
    )


@router.post(
    "/api/v1/bookings/{booking_id}/complete",
    response_model=BookingOut,
    responses=problem_responses(InvalidTransition),
)
async def complete_booking(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    body: BookingAction | None = None,
) -> BookingOut:
    return await _finish(booking_id, "completed", session, platform, principal, body)


@router.post(
    "/api/v1/bookings/{booking_id}/no-show",
    response_model=BookingOut,
    responses=problem_responses(InvalidTransition),
)
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
    await load_for(session, platform, booking_id, principal, None, staff_only=True)
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
    row, _ = await load_for(session, platform, booking_id, principal, manage_token)
    provider = await schedules_of(platform).get_provider(row.provider_id)
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
    start_from: Annotated[Instant | None, Query(alias="from")] = None,
    start_to: Annotated[Instant | None, Query(alias="to")] = None,
    status: Annotated[list[BookingStatus] | None, Query()] = None,
    service_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
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
        return await busy_time_of(session, provider_id, start, end, utc_now())


# --- wiring ---


async def _purge_idempotency_keys(platform: Platform) -> None:
    while True:
        async with platform.db.sessionmaker() as session, session.begin():
            await idempotency.purge_expired(session, utc_now())
        await asyncio.sleep(3600)


async def _expire_requests(platform: Platform) -> None:
    """Timely ``booking.expired`` events; correctness never waits for this (see
    :mod:`calisera.bookings.expiry`)."""
    while True:
        await asyncio.sleep(expiry.SWEEP_SECONDS)
        try:
            await expiry.expire_due(platform.db.sessionmaker, utc_now())
        except DBAPIError as exc:  # a passing database failure: the next sweep retries
            log.warning("request_expiry_sweep_failed", error=str(exc))


@contextlib.asynccontextmanager
async def lifespan(platform: Platform) -> AsyncIterator[None]:
    client = ProvidersClient(platform)
    secret = idempotency.lookup_secret(platform.settings.admin_token_value)
    platform.provide(BookingsState(schedules=client, idempotency_secret=secret))
    tasks = [
        asyncio.create_task(_purge_idempotency_keys(platform)),
        asyncio.create_task(_expire_requests(platform)),
    ]
    platform.db.committed_events.subscribe(
        "bookings.metrics", tuple(metrics.OUTCOMES), metrics.count_committed
    )
    try:
        yield
    finally:
        platform.db.committed_events.unsubscribe(metrics.count_committed)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        platform.discard(BookingsState)
        await client.aclose()


from calisera.bookings.decision_api import router as decision_router  # noqa: E402 (uses this module)
from calisera.bookings.holds_api import router as holds_router  # noqa: E402 (uses this module)
from calisera.bookings.series_api import router as series_router  # noqa: E402
from calisera.bookings.waitlist_api import router as waitlist_router  # noqa: E402 (uses this module)

spec = ServiceSpec(
    name="bookings",
    routers=[router, series_router, decision_router, holds_router, waitlist_router, internal],
    schema="bookings",
    lifespan=lifespan,
)
