"""Routes of the provider's CalDAV connection: connect, status, read now, disconnect."""

from __future__ import annotations

from fastapi import APIRouter, Response

from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.openapi import problem_responses
from calisera.core.ownership import ExistingOwnedProviderDep
from calisera.integrations import caldav_sync
from calisera.integrations.errors import CalendarNotConnected, SecretsUnavailable
from calisera.integrations.schemas import CalDavConnectionIn, CalDavConnectionOut

router = APIRouter(
    prefix="/api/v1/integrations/providers/{provider_id}/caldav", tags=["integrations"]
)


@router.put(
    "",
    response_model=CalDavConnectionOut,
    responses=problem_responses(SecretsUnavailable),
)
async def connect_calendar(
    provider: ExistingOwnedProviderDep, body: CalDavConnectionIn, platform: PlatformDep
) -> CalDavConnectionOut:
    """Connect (or replace) the calendar and read it at once. A calendar that cannot be
    read is still connected, with ``status: not_synced`` and the reason in ``last_error``
    (retried on schedule); the app password is stored encrypted and never returned."""
    sessionmaker = platform.db.sessionmaker
    async with sessionmaker() as session, session.begin():
        await caldav_sync.connect(session, platform.settings, provider.id, body)
    await caldav_sync.sync_now(platform.settings, sessionmaker, provider.id)
    async with sessionmaker() as session, session.begin():
        return await caldav_sync.connection_status(session, provider.id)


@router.get(
    "", response_model=CalDavConnectionOut, responses=problem_responses(CalendarNotConnected)
)
async def calendar_status(
    provider: ExistingOwnedProviderDep, session: SessionDep
) -> CalDavConnectionOut:
    """Status of the connection: synced or not, last read, last error, pending writes."""
    async with session.begin():
        return await caldav_sync.connection_status(session, provider.id)


@router.post(
    "/sync", response_model=CalDavConnectionOut, responses=problem_responses(CalendarNotConnected)
)
async def sync_calendar(
    provider: ExistingOwnedProviderDep, platform: PlatformDep
) -> CalDavConnectionOut:
    """Read the calendar's busy time now (it is also read every few minutes)."""
    sessionmaker = platform.db.sessionmaker
    await caldav_sync.sync_now(platform.settings, sessionmaker, provider.id)
    async with sessionmaker() as session, session.begin():
        return await caldav_sync.connection_status(session, provider.id)


@router.delete("", status_code=204, responses=problem_responses(CalendarNotConnected))
async def disconnect_calendar(provider: ExistingOwnedProviderDep, session: SessionDep) -> Response:
    """Disconnect: its busy time no longer blocks slots; events already written stay."""
    async with session.begin():
        await caldav_sync.disconnect(session, provider.id)
    return Response(status_code=204)
