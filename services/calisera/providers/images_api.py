"""Routes of the uploaded photo and logo (:mod:`calisera.providers.images`).

``PUT /api/v1/providers/{id}/images/{photo|logo}`` takes the image itself as the body
(``Content-Type: image/png``, ``image/jpeg`` or ``image/webp``, at most 8 MiB), stores
it re-encoded and points ``photo_url``/``logo_url`` at it, versioned by its content
(one ``provider.updated`` event, as any other change of the profile). ``GET`` serves it
to anyone who may see the provider's page, ``?size=`` one of 64-1024 pixels a side, with
an ETag; ``DELETE`` removes it and clears the address that pointed at it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Header, Query, Request, Response

from calisera.core.auth import CurrentPrincipal
from calisera.core.conditional import etag_matches
from calisera.core.dependencies import SessionDep, SettingsDep
from calisera.core.errors import PayloadTooLarge
from calisera.core.locks import lock_provider
from calisera.core.openapi import problem_responses
from calisera.core.settings import Settings
from calisera.providers import access, images, profiles, views
from calisera.providers.images import ImageKind, ImageNotFound
from calisera.providers.schemas import ProviderOut, ProviderPatch

router = APIRouter(prefix="/api/v1/providers", tags=["providers"])

CACHE_CONTROL = "public, max-age=86400"
"""A day: the address changes (``?v=``) when the image does."""
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The image itself (not a form): PNG, JPEG or WebP, at most 8 MiB.",
        "content": {media_type: _BINARY for media_type in images.MEDIA_TYPES},
    }
}
Size = Literal["64", "128", "256", "512", "1024"]


def image_url(settings: Settings, provider_id: uuid.UUID, kind: str, digest: str) -> str:
    base = settings.public_url.rstrip("/")
    return f"{base}/api/v1/providers/{provider_id}/images/{kind}?v={digest[:12]}"


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it passes the limit (a chunked body too)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > images.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"Images are limited to {images.MAX_UPLOAD_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


@router.put(
    "/{provider_id}/images/{kind}",
    response_model=ProviderOut,
    openapi_extra=_UPLOAD_BODY,
    responses=problem_responses(401, 404, 413, 415, 422),
)
async def upload_image(
    provider_id: uuid.UUID,
    kind: ImageKind,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> ProviderOut:
    """Store the provider's photo or logo and point ``photo_url``/``logo_url`` at it."""
    async with session.begin():  # strangers are refused before the body is decoded
        await access.managed_provider(session, provider_id, principal)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    raw = await _read_body(request)
    stored = await anyio.to_thread.run_sync(images.normalise, raw, media_type)
    url = image_url(settings, provider_id, kind, stored.digest)
    patch = ProviderPatch.model_validate({f"{kind}_url": url})
    async with session.begin():
        # the provider's locks first (advisory, then its row), as every provider write
        # takes them: the image row's foreign key would otherwise hold the row first
        p = await profiles.update_provider(session, provider_id, patch, principal, settings)
        await images.save(session, provider_id, kind, stored)
        return views.provider_out(p, settings)


@router.get(
    "/{provider_id}/images/{kind}",
    response_class=Response,
    responses={
        200: {"description": "The image", "content": dict.fromkeys(images.MEDIA_TYPES, _BINARY)},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **problem_responses(ImageNotFound),
    },
)
async def get_image(
    provider_id: uuid.UUID,
    kind: ImageKind,
    session: SessionDep,
    principal: CurrentPrincipal,
    size: Annotated[Size | None, Query(description="Pixels a side, at most.")] = None,
    v: Annotated[str | None, Query(max_length=64, description="The version (ignored).")] = None,
    if_none_match: Annotated[str | None, Header(max_length=500)] = None,
) -> Response:
    """The photo or logo, public like the booking page it is shown on."""
    async with session.begin():
        await access.visible_provider(session, provider_id, principal)
        stored = await images.load(session, provider_id, kind)
    etag = f'"{stored.digest}-{size or "full"}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    side = int(size) if size else None
    data = await anyio.to_thread.run_sync(images.resized, stored, side)
    return Response(data, media_type=stored.media_type, headers=headers)


@router.delete(
    "/{provider_id}/images/{kind}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(ImageNotFound),
)
async def delete_image(
    provider_id: uuid.UUID,
    kind: ImageKind,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Response:
    """Remove the image; the photo or logo address is cleared if it pointed at it."""
    async with session.begin():
        await lock_provider(session, provider_id)  # the order of every provider write
        p = await access.managed_provider(session, provider_id, principal, lock=True)
        if not await images.remove(session, provider_id, kind):
            raise ImageNotFound()
        ours = f"{settings.public_url.rstrip('/')}/api/v1/providers/{provider_id}/images/{kind}?"
        if (getattr(p, f"{kind}_url") or "").startswith(ours):
            patch = ProviderPatch.model_validate({f"{kind}_url": None})
            await profiles.update_provider(session, provider_id, patch, principal, settings)
    return Response(status_code=204)
