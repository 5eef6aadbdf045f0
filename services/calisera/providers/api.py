"""HTTP routes of the providers service: parse, call the domain (which authorizes, in
:mod:`.access`), shape the answer (:mod:`.views`). Routes own the transaction.

What this service adds to ``shared/API.md`` (extensions, nothing contradicts it):

- Provider bodies: ``photo_url``, ``logo_url``, ``contact: {email, phone}`` (phone in
  international format, stored E.164), ``booking_page: {accent_color: "#rrggbb",
  welcome_text, shown_service_ids: null | [ids]}`` (null = every active service),
  ``suspended`` (admin only). ``owner_email`` may be omitted by a signed-in user (it is
  theirs); only the admin may change it. PATCH answers the full record, and a PATCH
  that changes nothing records no event and keeps ``version``.
- Services: ``location`` is ``{"type": "in_person", "address"}``, ``{"type": "online",
  "url"}`` or ``{"type": "phone", "phone"?}``; the public profile shows only the address
  of in-person services (links and numbers travel with the booking). ``kind`` cannot
  change. ``DELETE`` archives and answers the service (``active: false``); PATCH
  ``{"active": true}`` restores it. ``GET .../services/{service_id}`` is added.
- Availability adds ``time_off: [{"start", "end", "reason"?}]`` (naive local
  date-times). Times are on a 5-minute grid; a day ends at 23:55 at the latest.
- ``GET /api/v1/providers/{id}/qr-code[?format=png]``: the QR code of ``booking_url``
  (public unless the provider is suspended), with ``ETag`` and ``Cache-Control``.
- Lists (providers, services) are ordered by creation, ``limit`` 1-200 (default 50).
- ``DELETE /api/v1/providers/{id}`` (admin only, 204) removes a provider with its
  services and availability and emits ``provider.deleted`` (a new event type); the
  slug becomes free again. Bookings stay in the bookings service.
- The full record carries ``owner_subject`` (for ``Principal.owns`` in other services).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response

from calisera.core.auth import CurrentPrincipal
from calisera.core.dependencies import PlatformDep, ReadSessionDep, SessionDep, SettingsDep
from calisera.core.pagination import DEFAULT_LIMIT, Cursor, Limit
from calisera.core.platform import Platform, ServiceSpec
from calisera.providers import access, availability, catalog, profiles, schedule_read_model, views
from calisera.providers.fields import check_timezone
from calisera.providers.qr_codes import render_qr
from calisera.providers.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    ProviderCreate,
    ProviderList,
    ProviderOut,
    ProviderPatch,
    PublicProfile,
    ScheduleConfig,
    ServiceCreate,
    ServiceList,
    ServiceOut,
    ServicePatch,
)

router = APIRouter(prefix="/api/v1/providers", tags=["providers"])
internal = APIRouter(prefix="/internal/v1/providers", tags=["internal"])

QR_CACHE_CONTROL = "public, max-age=300"


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.post("", status_code=201, response_model=ProviderOut)
async def create_provider(
    body: ProviderCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    response: Response,
) -> ProviderOut:
    async with session.begin():
        p = await profiles.create_provider(session, body, principal, settings)
    response.headers["Location"] = f"/api/v1/providers/{p.id}"
    return views.provider_out(p, settings)


@router.get("", response_model=ProviderList)
async def list_providers(
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ProviderList:
    async with session.begin():
        rows, next_cursor = await profiles.list_providers(
            session, principal, limit=limit, cursor=cursor
        )
    return ProviderList(
        items=[views.provider_out(p, settings) for p in rows], next_cursor=next_cursor
    )


@router.get("/by-slug/{slug}", response_model=PublicProfile)
async def get_public_profile(
    slug: str, session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> PublicProfile:
    async with session.begin():
        return await profiles.public_profile(session, slug, principal, settings)


@router.get("/{provider_id}", response_model=ProviderOut)
async def get_provider(
    provider_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> ProviderOut:
    async with session.begin():
        p = await access.managed_provider(session, provider_id, principal)
    return views.provider_out(p, settings)


@router.patch("/{provider_id}", response_model=ProviderOut)
async def update_provider(
    provider_id: uuid.UUID,
    body: ProviderPatch,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    platform: PlatformDep,
) -> ProviderOut:
    async with session.begin():
        p = await profiles.update_provider(session, provider_id, body, principal, settings)
    return views.provider_out(p, settings)


@router.delete("/{provider_id}", status_code=204, response_class=Response)
async def delete_provider(
    provider_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    platform: PlatformDep,
) -> Response:
    """Admin only: removes the provider, its services and availability (``provider.deleted``)."""
    async with session.begin():
        await profiles.delete_provider(session, provider_id, principal, settings)
    return Response(status_code=204)


@router.get("/{provider_id}/qr-code", response_class=Response)
async def get_qr_code(
    provider_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    format: Literal["svg", "png"] = "svg",
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The booking URL as a QR code (SVG, or PNG with ``?format=png``)."""
    async with session.begin():
        p = await access.visible_provider(session, provider_id, principal)
    image = render_qr(views.booking_url(settings, p.slug), format)
    headers = {"ETag": image.etag, "Cache-Control": QR_CACHE_CONTROL}
    if _matches(if_none_match, image.etag):
        return Response(status_code=304, headers=headers)
    return Response(image.content, media_type=image.media_type, headers=headers)


@router.post("/{provider_id}/services", status_code=201, response_model=ServiceOut)
async def create_service(
    provider_id: uuid.UUID,
    body: ServiceCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    platform: PlatformDep,
) -> ServiceOut:
    async with session.begin():
        s = await catalog.create_service(session, provider_id, body, principal)
    response.headers["Location"] = f"/api/v1/providers/{provider_id}/services/{s.id}"
    return views.service_out(s)


@router.get("/{provider_id}/services", response_model=ServiceList)
async def list_services(
    provider_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ServiceList:
    async with session.begin():
        rows, next_cursor = await catalog.list_services(
            session, provider_id, principal, limit=limit, cursor=cursor
        )
    return ServiceList(items=[views.service_out(s) for s in rows], next_cursor=next_cursor)


@router.get("/{provider_id}/services/{service_id}", response_model=ServiceOut)
async def get_service(
    provider_id: uuid.UUID, service_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> ServiceOut:
    async with session.begin():
        s = await access.managed_service(session, provider_id, service_id, principal)
    return views.service_out(s)


@router.patch("/{provider_id}/services/{service_id}", response_model=ServiceOut)
async def update_service(
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    body: ServicePatch,
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
) -> ServiceOut:
    async with session.begin():
        s = await catalog.update_service(session, provider_id, service_id, body, principal)
    return views.service_out(s)


@router.delete("/{provider_id}/services/{service_id}", response_model=ServiceOut)
async def archive_service(
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
) -> ServiceOut:
    """Archives the service (``active: false``); its bookings stay. Answers the service."""
    async with session.begin():
        s = await catalog.archive_service(session, provider_id, service_id, principal)
    return views.service_out(s)


@router.get("/{provider_id}/availability", response_model=AvailabilityOut)
async def get_availability(
    provider_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> AvailabilityOut:
    async with session.begin():
        return await availability.get_availability(session, provider_id, principal)


@router.put("/{provider_id}/availability", response_model=AvailabilityOut)
async def put_availability(
    provider_id: uuid.UUID,
    body: AvailabilityIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    platform: PlatformDep,
) -> AvailabilityOut:
    async with session.begin():
        return await availability.put_availability(session, provider_id, body, principal)


@internal.get(
    "/services/{service_id}/schedule",
    response_model=ScheduleConfig,
    responses={304: {"description": "Not modified (If-None-Match matched the ETag)"}},
)
async def get_schedule_config(
    service_id: uuid.UUID,
    session: ReadSessionDep,  # answered while a booking holds its provider's lock
    principal: CurrentPrincipal,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    principal.require_admin()
    async with session.begin():
        if if_none_match:
            etag = f'"{await schedule_read_model.schedule_version(session, service_id)}"'
            if _matches(if_none_match, etag):
                return Response(status_code=304, headers={"ETag": etag})
        config = await schedule_read_model.schedule_config(session, service_id)
    return Response(
        config.model_dump_json(),
        media_type="application/json",
        headers={"ETag": f'"{config.version}"', "Cache-Control": "no-cache"},
    )


@contextlib.asynccontextmanager
async def lifespan(platform: Platform) -> AsyncIterator[None]:
    check_timezone("UTC")  # loads the zone list once, before the first request
    yield


spec = ServiceSpec(
    name="providers", routers=[router, internal], schema="providers", lifespan=lifespan
)
