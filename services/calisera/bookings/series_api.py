"""Routes of class series: ``POST /api/v1/bookings/series`` and
``GET /api/v1/bookings/{id}/series`` (:mod:`calisera.bookings.series`).

Who may book a series is who may book (anyone; the admin and the provider's owner book
for a client); who may see it is who may see one of its bookings (the series' manage
token, the owner, the admin).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from calisera.bookings import metrics, series
from calisera.bookings.deps import (
    IdempotencyKeyHeader,
    ManageToken,
    booker_for,
    idempotent_write,
    load_for,
    scoped_idempotency_key,
    utc_now,
)
from calisera.bookings.errors import (
    BookingNotFound,
    LimitReached,
    NotBookable,
    SlotUnavailable,
)
from calisera.bookings.schemas import SeriesCreate, SeriesOut
from calisera.core.auth import CurrentPrincipal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.openapi import problem_responses

router = APIRouter(tags=["bookings"])


@router.post(
    "/api/v1/bookings/series",
    status_code=201,
    response_model=SeriesOut,
    responses=problem_responses(404, SlotUnavailable, NotBookable, LimitReached),
)
async def create_series(
    body: SeriesCreate,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Book every occurrence of a class from ``start`` for ``weeks`` weeks (or ``until``
    a date), one booking per occurrence, in one transaction.

    ``all_or_nothing`` (the default): if one occurrence cannot be booked, none is, and the
    problem (409 ``slot-unavailable`` or ``limit-reached``, 422 ``not-bookable``) names
    its ``start``. ``skip_unavailable``: the others are booked and the refused ones listed
    in ``skipped``; 409 if none could be. One ``manage_token`` manages the whole series;
    the customer gets one confirmation listing the dates, and a reminder before each.
    """
    key = scoped_idempotency_key(platform, "series", idempotency_key, principal)
    now = utc_now()
    booker = await booker_for(platform, principal, body.service_id, str(body.customer.email))

    async def work() -> dict[str, Any]:
        created = await series.create_series(
            session,
            booker.schedules,
            booker.provider_id,
            body,
            now,
            booker.actor,
            seal_token=booker.seal_token,
            answers_required=not booker.staff,
        )
        return created.series.model_dump(mode="json")

    try:
        return await idempotent_write(
            platform, session, booker.provider_id, key, body.model_dump(mode="json"), 201, now, work
        )
    except SlotUnavailable:
        metrics.count_conflict("class", "create")
        raise


@router.get("/api/v1/bookings/{booking_id}/series", response_model=SeriesOut)
async def booking_series(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    manage_token: ManageToken = None,
) -> SeriesOut:
    """The series the booking belongs to, every booking of it by start (any status);
    404 ``booking-not-found`` for a booking of no series."""
    row, _ = await load_for(session, platform, booking_id, principal, manage_token)
    if row.series_id is None:
        raise BookingNotFound("This booking is not part of a series.")
    async with session.begin():
        members = await series.series_of(session, row.series_id)
    return SeriesOut(id=row.series_id, service_id=row.service_id, bookings=members)
