"""HTTP routes of the integrations service: webhooks, the iCalendar feed, CalDAV, and
the internal busy-time read listing makes through :mod:`.client`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from calisera.core.auth import CurrentPrincipal
from calisera.core.dependencies import ReadSessionDep
from calisera.core.errors import InvalidInput
from calisera.core.platform import ServiceSpec
from calisera.integrations import caldav_routes, caldav_sync, feed_routes, webhook_routes
from calisera.integrations.schemas import ExternalBusy, ExternalInterval

internal = APIRouter(prefix="/internal/v1/integrations", tags=["internal"])
MAX_BUSY_RANGE = timedelta(days=800)


@internal.get("/busy", response_model=ExternalBusy)
async def busy_time(
    principal: CurrentPrincipal,
    session: ReadSessionDep,
    provider_id: Annotated[uuid.UUID, Query()],
    start: Annotated[datetime, Query()],
    end: Annotated[datetime, Query()],
) -> ExternalBusy:
    """Busy time of the provider's connected calendar in ``[start, end)`` (platform
    credential only), as last read; ``synced`` is false when that read failed."""
    principal.require_admin()
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput.field("start", "start and end need a UTC offset")
    if end <= start or end - start > MAX_BUSY_RANGE:
        raise InvalidInput.field("end", "must be after start, within 800 days")
    async with session.begin():
        found, synced = await caldav_sync.busy_between(session, provider_id, start, end)
    return ExternalBusy(
        provider_id=provider_id,
        intervals=[ExternalInterval(start=a, end=b) for a, b in found],
        synced=synced,
    )


spec = ServiceSpec(
    name="integrations",
    routers=[webhook_routes.router, feed_routes.router, caldav_routes.router, internal],
    schema="integrations",
)
