"""Routes of slot holds: ``POST /api/v1/holds`` and ``DELETE /api/v1/holds/{id}``.

Anyone may hold (the customer booking page has no account), like anyone may book; the
hold id is the only handle on it, unguessable (UUIDv4) and shown only to its holder.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Response

from calisera.bookings import holds
from calisera.bookings.deps import provider_write, schedules_of
from calisera.bookings.errors import NotBookable, SlotUnavailable
from calisera.bookings.expiry import expire_stale
from calisera.bookings.locks import lock_provider
from calisera.bookings.schemas import HoldCreate, HoldOut
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.openapi import problem_responses

router = APIRouter(tags=["holds"])


@router.post(
    "/api/v1/holds",
    status_code=201,
    response_model=HoldOut,
    responses=problem_responses(404, SlotUnavailable, NotBookable),
)
async def place_hold(body: HoldCreate, session: SessionDep, platform: PlatformDep) -> HoldOut:
    """Keep a slot (or seats of an event or class occurrence) for 10 minutes.

    The held time is busy for everyone else (slots, bookings, other holds) until
    ``expires_at``, then free by itself. Book it with ``hold_id`` in
    ``POST /api/v1/bookings``. Same answers as a booking: 409 ``slot-unavailable`` when
    taken or full, 422 ``not-bookable`` when ``start`` is not a slot of the service.
    """
    schedules = schedules_of(platform)
    provider_id = await schedules.provider_of(body.service_id)
    now = datetime.now(UTC)

    async def work() -> HoldOut:
        await lock_provider(session, provider_id)
        await expire_stale(session, provider_id, now)
        config = await schedules.schedule_config(body.service_id)
        return await holds.place_hold(session, config, body, now)

    return await provider_write(platform, session, provider_id, work)


@router.delete("/api/v1/holds/{hold_id}", status_code=204, response_class=Response)
async def release_hold(hold_id: uuid.UUID, session: SessionDep, platform: PlatformDep) -> Response:
    """Give a hold back before it expires (the customer chose another time or left).
    Releasing an unknown, used or expired hold is harmless (204)."""
    async with session.begin():
        provider_id = await holds.hold_provider(session, hold_id)
    if provider_id is not None:

        async def work() -> None:
            await lock_provider(session, provider_id)
            await holds.release_hold(session, hold_id, provider_id, datetime.now(UTC))

        await provider_write(platform, session, provider_id, work)
    return Response(status_code=204)
