"""HTTP routes of the listing service: ``GET /api/v1/availability`` and
``GET /api/v1/availability/explain``."""

from __future__ import annotations

import contextlib
import gc
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from starlette.requests import Request
from starlette.responses import Response

from calisera.bookings.client import BookingsClient
from calisera.core.errors import InvalidInput
from calisera.core.events import EventEnvelope
from calisera.core.openapi import problem_responses
from calisera.core.platform import Platform, ServiceSpec
from calisera.core.values import check_zone_name, zone_name_schema
from calisera.integrations.client import IntegrationsClient
from calisera.listing.cache import create_cache, register_process_cache, unregister_process_cache
from calisera.listing.calendar_busy import WithCalendarBusy
from calisera.listing.consumers import EVENT_TYPES, bump
from calisera.listing.schemas import AvailabilityOut, ExplanationOut
from calisera.listing.service import MAX_RANGE_DAYS, Listing
from calisera.providers.client import ProvidersClient

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


def _param(
    name: str, description: str, required: bool, example: str, **schema: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema, "example": example},
    }


@router.get(
    "/api/v1/availability",
    response_model=AvailabilityOut,
    summary="Bookable slots of a service",
    description=(
        "Dates are inclusive and read in `timezone` (default: the provider's); slot "
        f"times carry that zone's offset. At most {MAX_RANGE_DAYS} days per request."
    ),
    responses=problem_responses(404),
    openapi_extra={
        "parameters": [
            _param("service_id", "The service (UUID).", True, str(uuid.UUID(int=1)), format="uuid"),
            _param(
                "start", "First date, YYYY-MM-DD (inclusive).", True, "2027-03-29", format="date"
            ),
            _param(
                "end",
                f"Last date, YYYY-MM-DD (inclusive), on or after `start`, at most "
                f"{MAX_RANGE_DAYS} days after it.",
                True,
                "2027-04-04",
                format="date",
            ),
            _param(
                "timezone",
                "IANA zone for dates and offsets.",
                False,
                "Europe/Berlin",
                **zone_name_schema(),
            ),
        ]
    },
)
async def availability(request: Request) -> Response:
    # Query parameters are read by hand (documented above through ``openapi_extra``)
    # and the platform comes straight from the app: declared parameters and a sync
    # dependency cost more than the cached answer itself on this, the hottest route.
    params = request.query_params
    service_id = params.get("service_id")
    if not service_id:
        raise InvalidInput.field("service_id", "required")
    try:
        sid = uuid.UUID(service_id)
    except ValueError:
        raise InvalidInput.field("service_id", "must be a UUID") from None
    first = _parse_date("start", params.get("start"))
    last = _parse_date("end", params.get("end"))
    if last < first:
        raise InvalidInput.field("end", "must not be before start")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput.field("end", f"the range is limited to {MAX_RANGE_DAYS} days")
    timezone = params.get("timezone")
    if timezone is not None:
        try:
            check_zone_name(timezone)
        except ValueError:
            raise InvalidInput.field("timezone", "unknown IANA time zone") from None
    listing: Listing = request.app.state.platform.get(Listing)
    body = await listing.availability(sid, first, last, timezone)
    return Response(body, media_type="application/json")


def _integrations_client(platform: Platform) -> IntegrationsClient | None:
    """The integrations service's client, or None where none is deployed (no calendars)."""
    if not (platform.hosts("integrations") or platform.settings.service_url("integrations")):
        return None
    return IntegrationsClient(platform)


@router.get(
    "/api/v1/availability/explain",
    response_model=ExplanationOut,
    summary="Why a time is (not) offered",
    responses=problem_responses(404, 422),
)
async def explain_time(
    request: Request,
    service_id: uuid.UUID,
    start: Annotated[AwareDatetime, Query(description="The time asked about (RFC 3339).")],
    seats: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> ExplanationOut:
    """Whether ``start`` is offered for ``seats`` and, if not, the first rule it breaks
    (provider suspended, archived, past, minimum notice, booking window, hours, date
    override, slot grid, not an occurrence, daily limit, weekly limit, booked, time off,
    buffer, full): the same function that lists the slots decides, so this answer never
    disagrees with the booking page."""
    listing: Listing = request.app.state.platform.get(Listing)
    answer = await listing.explain(service_id, start, seats)
    return ExplanationOut.model_validate(answer)


@contextlib.asynccontextmanager
async def lifespan(platform: Platform) -> AsyncIterator[None]:
    cache = create_cache(platform.settings.cache_url)
    providers = ProvidersClient(platform)
    bookings = BookingsClient(platform)
    calendars = _integrations_client(platform)
    listing = platform.provide(Listing(providers, WithCalendarBusy(bookings, calendars), cache))
    register_process_cache(cache)

    async def invalidate(event: EventEnvelope) -> None:
        await bump([cache], event)

    platform.db.committed_events.subscribe("listing.invalidate", EVENT_TYPES, invalidate)
    # Start-up objects (routes, models, schemas) never die: keep them out of the
    # collector's full passes, which otherwise stall every request in flight.
    gc.freeze()
    try:
        yield
    finally:
        platform.db.committed_events.unsubscribe(invalidate)
        unregister_process_cache(cache)
        await listing.aclose()
        platform.discard(Listing)
        await providers.aclose()
        await bookings.aclose()
        if calendars is not None:
            await calendars.aclose()
        await cache.aclose()


async def cache_reachable(platform: Platform) -> None:
    await platform.get(Listing).cache.ping()


spec = ServiceSpec(name="listing", routers=[router], lifespan=lifespan, readiness=[cache_reachable])
