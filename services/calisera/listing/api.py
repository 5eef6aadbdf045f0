"""HTTP routes of the listing service: ``GET /api/v1/availability``."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from calisera.bookings.client import BookingsClient
from calisera.core.errors import InvalidInput
from calisera.core.platform import Platform, ServiceSpec
from calisera.listing.cache import create_cache, register_process_cache, unregister_process_cache
from calisera.listing.schemas import AvailabilityOut
from calisera.listing.service import MAX_RANGE_DAYS, Listing
from calisera.providers.client import ProvidersClient
from calisera.scheduling import UnknownZone, zone

router = APIRouter(tags=["listing"])

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_date(name: str, value: str | None) -> date:
    if value is None:
        raise InvalidInput.field(name, "required (YYYY-MM-DD)")
    if not _DATE.fullmatch(value):
        raise InvalidInput.field(name, "must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.field(name, "is not a valid calendar date") from None


@router.get(
    "/api/v1/availability",
    response_model=AvailabilityOut,
    summary="Bookable slots of a service",
    description=(
        "Dates are inclusive and read in `timezone` (default: the provider's); slot "
        f"times carry that zone's offset. At most {MAX_RANGE_DAYS} days per request."
    ),
)
async def availability(
    request: Request,
    service_id: Annotated[str | None, Query()] = None,
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    timezone: Annotated[str | None, Query()] = None,
) -> Response:
    if not service_id:
        raise InvalidInput.field("service_id", "required")
    try:
        sid = uuid.UUID(service_id)
    except ValueError:
        raise InvalidInput.field("service_id", "must be a UUID") from None
    first = _parse_date("start", start)
    last = _parse_date("end", end)
    if last < first:
        raise InvalidInput.field("end", "must not be before start")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput.field("end", f"the range is limited to {MAX_RANGE_DAYS} days")
    if timezone is not None:
        try:
            zone(timezone)
        except UnknownZone:
            raise InvalidInput.field("timezone", "unknown IANA time zone") from None
    # The platform straight from the app, not ``PlatformDep``: a sync dependency costs
    # a worker-thread hop on the hottest route.
    listing: Listing = request.app.state.platform.state["listing"]
    body = await listing.availability(sid, first, last, timezone)
    return Response(body, media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(platform: Platform) -> AsyncIterator[None]:
    cache = create_cache(platform.settings.cache_url)
    providers = ProvidersClient(platform)
    bookings = BookingsClient(platform)
    platform.state["listing"] = Listing(providers, bookings, cache)
    register_process_cache(cache)
    try:
        yield
    finally:
        unregister_process_cache(cache)
        platform.state.pop("listing", None)
        await providers.aclose()
        await bookings.aclose()
        await cache.aclose()


async def cache_reachable(platform: Platform) -> None:
    listing: Listing = platform.state["listing"]
    await listing.cache.ping()


spec = ServiceSpec(name="listing", routers=[router], lifespan=lifespan, readiness=[cache_reachable])
