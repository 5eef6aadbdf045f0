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
- ``PUT /api/v1/providers/{id}/images/{photo|logo}`` (the image itself as the body),
  ``GET`` (public, ``?size=``) and ``DELETE``: the uploaded photo and logo
  (:mod:`.images_api`); an upload points ``photo_url``/``logo_url`` at it.
- The full record carries ``owner_subject`` (for ``Principal.owns`` in other services).
- Directory (issue 15): providers opt in with ``listed: true`` (default false) and
  describe themselves with ``categories`` (up to 5 of ``GET /api/v1/providers/categories``),
  ``city``, ``area`` and ``languages`` (ISO 639 codes, up to 10), on create or PATCH.
  ``GET /api/v1/providers/search?q=&category=&city=&lang=&limit=&cursor=`` is public and
  answers listed, unsuspended providers only, as :class:`DirectoryEntry` (no contact,
  owner or ids), ranked by full-text search with typo tolerance (:mod:`.directory`).
  It is a path of its own because ``GET /api/v1/providers`` stays the authenticated
  caller's list of providers they manage (401 without credentials).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from calisera.core.auth import CurrentPrincipal
from calisera.core.conditional import etag_matches
from calisera.core.dependencies import PlatformDep, ReadSessionDep, SessionDep, SettingsDep
from calisera.core.openapi import problem_responses
from calisera.core.pagination import DEFAULT_LIMIT, Cursor, Limit
from calisera.core.platform import Platform, ServiceSpec
from calisera.providers import (
    access,
    availability,
    catalog,
    directory,
    profiles,
    schedule_read_model,
    views,
)
from calisera.providers.fields import Category, Language, Place, SearchText, check_timezone
from calisera.providers.profiles import SlugTaken
from calisera.providers.qr_codes import render_qr
from calisera.providers.schemas import (
    CATEGORY_LIST,
    AvailabilityIn,
    AvailabilityOut,
    DirectoryPage,
    ProviderCreate,
    ProviderList,
    ProviderOut,
    ProviderPatch,
    PublicProfile,
    ScheduleConfig,
    ServiceCategory,
    ServiceCreate,
    ServiceList,
    ServiceOut,
    ServicePatch,
)

router = APIRouter(prefix="/api/v1/providers", tags=["providers"])
internal = APIRouter(prefix="/internal/v1/providers", tags=["internal"])

QR_CACHE_CONTROL = "public, max-age=300"
DIRECTORY_LIMIT = 20


@router.post(
    "", status_code=201, response_model=ProviderOut, responses=problem_responses(SlugTaken)
)
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


@router.get("/search", response_model=DirectoryPage, responses=problem_responses(422))
async def search_directory(
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[
        SearchText | None,
        Query(description="Name, category, place or words of the bio; typos are tolerated."),
    ] = None,
    category: Annotated[
        Category | None, Query(description="One of `GET /api/v1/providers/categories`.")
    ] = None,
    city: Annotated[Place | None, Query(description="City or area, case-insensitive.")] = None,
    lang: Annotated[
        Language | None, Query(description="ISO 639 language code the provider speaks.")
    ] = None,
    limit: Limit = DIRECTORY_LIMIT,
    cursor: Cursor = None,
) -> DirectoryPage:
    """The public directory: listed providers only, best match first (public, no sign-in)."""
    query = directory.DirectoryQuery(q=q or None, category=category, city=city or None, lang=lang)
    async with session.begin():
        rows, next_cursor = await directory.search_listed(
            session, query, limit=limit, cursor=cursor
        )
    return DirectoryPage(
        items=[views.directory_entry(p, settings) for p in rows], next_cursor=next_cursor
    )


@router.get("/categories", response_model=list[ServiceCategory])
async def list_categories() -> list[ServiceCategory]:
    """The service categories a provider may pick for the directory (public)."""
    return CATEGORY_LIST


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


@router.patch("/{provider_id}", response_model=ProviderOut, responses=problem_responses(SlugTaken))
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


@router.get(
    "/{provider_id}/qr-code",
    response_class=Response,
    responses={
        200: {
            "description": "The QR code",
            "content": {"image/svg+xml": {"schema": {"type": "string"}}, "image/png": {}},
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
    },
)
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
    if etag_matches(if_none_match, image.etag):
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
            if etag_matches(if_none_match, etag):
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


from calisera.providers.images_api import router as images_router  # noqa: E402

spec = ServiceSpec(
    name="providers",
    routers=[router, images_router, internal],
    schema="providers",
    lifespan=lifespan,
)
