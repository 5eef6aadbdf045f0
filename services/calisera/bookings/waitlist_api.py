"""Routes of the waitlist (:mod:`calisera.bookings.waitlist`).

Anyone may join (the booking page has no account), like anyone may book; the entry's
token (``X-Waitlist-Token``) reads, leaves and claims it. The provider's owner and the
admin read and remove entries of their provider and list its waitlist; anyone else is
told the entry (or the provider) does not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings import idempotency, waitlist
from calisera.bookings.deps import (
    IdempotencyKeyHeader,
    provider_write,
    schedules_of,
    scoped_idempotency_key,
    token_sealer,
    utc_now,
)
from calisera.bookings.errors import (
    AlreadyWaiting,
    HoldExpired,
    LimitReached,
    NotBookable,
    OfferExpired,
    SeatsAvailable,
    SlotUnavailable,
    WaitlistEntryNotFound,
)
from calisera.bookings.schemas import (
    WaitlistClaim,
    WaitlistClaimed,
    WaitlistEntryOut,
    WaitlistJoin,
    WaitlistPage,
    WaitlistStatus,
)
from calisera.core.auth import CurrentPrincipal, Principal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import NotFound
from calisera.core.openapi import problem_responses
from calisera.core.ownership import ExistingOwnedProviderDep, authorize_provider
from calisera.core.pagination import DEFAULT_LIMIT, Cursor, Limit
from calisera.core.platform import Platform
from calisera.core.sealing import WAITLIST_TOKEN_PURPOSE
from calisera.core.values import Instant

router = APIRouter(tags=["waitlist"])

WaitlistToken = Annotated[
    str | None,
    Header(
        alias="X-Waitlist-Token",
        description="The entry's token, from the join answer or the offer e-mail's link.",
    ),
]


async def _entry_for(
    session: AsyncSession,
    platform: Platform,
    entry_id: uuid.UUID,
    principal: Principal,
    token: str | None,
) -> Any:
    """The entry, for its provider's owner or the admin, or the holder of its token;
    404 for everyone else (401 with neither a token nor credentials)."""
    if not token:
        principal.require_authenticated()
    async with session.begin():
        row = await waitlist.load_entry(session, entry_id)
    if principal.is_authenticated:
        try:
            await authorize_provider(platform.owners, principal, row.provider_id)
        except NotFound:
            pass
        else:
            return row
    if not waitlist.token_matches(row, token):
        raise WaitlistEntryNotFound()
    return row


@router.post(
    "/api/v1/waitlist",
    status_code=201,
    response_model=WaitlistEntryOut,
    responses=problem_responses(404, SeatsAvailable, AlreadyWaiting, SlotUnavailable, NotBookable),
)
async def join_waitlist(
    body: WaitlistJoin, session: SessionDep, platform: PlatformDep
) -> WaitlistEntryOut:
    """Wait for seats of a full event or class occurrence.

    Only where a booking is refused because the occurrence is full: every other reason
    is answered as a booking answers it (422 ``not-bookable``, 409 ``slot-unavailable``),
    and free seats are a 409 ``seats-available`` (book them). One e-mail address waits
    once per occurrence (409 ``already-waiting``). When seats free, the first waiting
    entry whose seats fit is offered them: they are held for it for the platform's
    claim time and the customer is e-mailed a claim link. The ``token`` of the answer
    is shown once.
    """
    schedules = schedules_of(platform)
    provider_id = await schedules.provider_of(body.service_id)
    sealer = token_sealer(platform, WAITLIST_TOKEN_PURPOSE)
    minutes = platform.settings.waitlist_claim_minutes

    async def work() -> WaitlistEntryOut:
        joined = await waitlist.join_waitlist(
            session, schedules, provider_id, body, offer_minutes=minutes, seal_token=sealer
        )
        return joined.entry

    return await provider_write(platform, session, provider_id, work)


@router.get(
    "/api/v1/waitlist/{entry_id}",
    response_model=WaitlistEntryOut,
    responses=problem_responses(401, WaitlistEntryNotFound),
)
async def get_entry(
    entry_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    waitlist_token: WaitlistToken = None,
) -> WaitlistEntryOut:
    """The entry: its place in line while waiting, the offer's deadline once offered."""
    row = await _entry_for(session, platform, entry_id, principal, waitlist_token)
    async with session.begin():
        position = await waitlist.position_of(session, row)
    return waitlist.entry_out(row, position=position)


@router.post(
    "/api/v1/waitlist/{entry_id}/leave",
    response_model=WaitlistEntryOut,
    responses=problem_responses(401, WaitlistEntryNotFound),
)
async def leave_waitlist(
    entry_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    waitlist_token: WaitlistToken = None,
) -> WaitlistEntryOut:
    """Leave the line (the customer with the token, or the provider removing an entry).
    An open offer's seats go to the next in line; leaving again is harmless."""
    row = await _entry_for(session, platform, entry_id, principal, waitlist_token)

    async def work() -> WaitlistEntryOut:
        return waitlist.entry_out(await waitlist.leave_waitlist(session, entry_id))

    return await provider_write(platform, session, row.provider_id, work)


@router.post(
    "/api/v1/waitlist/{entry_id}/claim",
    status_code=201,
    response_model=WaitlistClaimed,
    responses=problem_responses(
        WaitlistEntryNotFound, OfferExpired, HoldExpired, SlotUnavailable, LimitReached
    ),
)
async def claim_offer(
    entry_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    body: WaitlistClaim | None = None,
    waitlist_token: WaitlistToken = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Book the seats the offer holds (with the entry's token): 201 with the entry, now
    ``claimed``, and the booking with its ``manage_token``. An offer that expired, was
    claimed or never made is a 409 ``offer-expired``; a retry with the same
    ``Idempotency-Key`` gets the first answer again.
    """
    claim = body or WaitlistClaim()
    async with session.begin():
        row = await waitlist.load_entry(session, entry_id)
    if not waitlist.token_matches(row, waitlist_token):
        raise WaitlistEntryNotFound()
    key = scoped_idempotency_key(platform, f"claim:{entry_id}", idempotency_key, principal)
    now = utc_now()
    if key is not None:
        stored = await idempotency.claim(
            platform.db.sessionmaker,
            key,
            idempotency.request_hash(claim.model_dump(mode="json")),
            now,
        )
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status_code)
    schedules = schedules_of(platform)
    sealer = token_sealer(platform)

    async def work() -> waitlist.ClaimedOffer | dict[str, Any]:
        claimed = await waitlist.claim_offer(
            session, schedules, entry_id, waitlist_token, claim, seal_token=sealer
        )
        if claimed.booking is None:
            return claimed  # the expiry it recorded commits; the answer is a 409
        answer = WaitlistClaimed(entry=claimed.entry, booking=claimed.booking.booking)
        payload = answer.model_dump(mode="json")
        if key is not None:
            await idempotency.record_response(session, key, 201, payload, now)
        return payload

    try:
        result = await provider_write(platform, session, row.provider_id, work)
        if isinstance(result, waitlist.ClaimedOffer):
            waitlist.refuse_unclaimed(result)
            raise AssertionError("unreachable: an unclaimed offer is refused")
    except BaseException:
        if key is not None:
            await idempotency.release(platform.db.sessionmaker, key)
        raise
    return JSONResponse(result, status_code=201)


@router.get("/api/v1/providers/{provider_id}/waitlist", response_model=WaitlistPage)
async def provider_waitlist(
    provider: ExistingOwnedProviderDep,
    session: SessionDep,
    service_id: uuid.UUID | None = None,
    start: Annotated[Instant | None, Query(description="One occurrence's start.")] = None,
    status: Annotated[list[WaitlistStatus] | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> WaitlistPage:
    """The provider's waitlist entries in line order (``?service_id=&start=`` for one
    occurrence, ``?status=waiting`` for who still waits)."""
    async with session.begin():
        items, next_cursor = await waitlist.provider_waitlist(
            session,
            provider.id,
            service_id=service_id,
            start=start,
            statuses=tuple(status or ()),
            limit=limit,
            cursor=cursor,
        )
    return WaitlistPage(items=items, next_cursor=next_cursor)
