"""What every web page shares: the route class that turns errors into pages and puts the
security headers on every answer, the typed clients state, and loading the provider.

The screens (:mod:`calisera.web.booking_pages`, :mod:`calisera.web.manage_pages`,
:mod:`calisera.web.console_pages`) build their routers with :func:`page_router`, so no
route can forget a header or answer a customer with JSON.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from calisera.core.errors import Forbidden, InvalidInput, NotFound, ServiceUnavailable, Unauthorized
from calisera.core.platform import Platform
from calisera.core.state import state_dependency
from calisera.web import views
from calisera.web.clients import BookingsClient, ListingClient, ProvidersClient, PublicProvider

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
"""No inline script or style (``script-src 'self'``: every script is a file under
``/static``), nothing from another origin except images (a provider's logo lives at a URL
of their choosing). ``frame-ancestors 'self'`` until providers may embed their pages."""

HSTS = "max-age=31536000"
"""Sent only over TLS (RFC 6797 says a plain-HTTP answer must not carry it). No
``includeSubDomains``: the platform does not own its parent domain's other hosts."""


def security_headers(*, tls: bool) -> dict[str, str]:
    """The headers of every web answer. ``no-referrer`` everywhere: a manage page's URL
    is never sent onwards, whatever it links to."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if tls:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def served_over_tls(request: Request) -> bool:
    """Over TLS when this request came in over it or the public URL people are given
    (``CALISERA_PUBLIC_URL``) is ``https``: behind a TLS-terminating proxy the request
    itself is plain HTTP, but the browser is talking HTTPS."""
    platform: Platform = request.app.state.platform
    return request.url.scheme == "https" or platform.settings.public_url.startswith("https://")


class PageRoute(APIRoute):
    """A route answering people: unknown or not-yours things are the 404 page, an
    unreachable service the 503 page, and every answer carries :func:`security_headers`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except (NotFound, Unauthorized, Forbidden):
                # a wrong manage link shows nothing: to its holder the booking does not exist
                response = views.not_found_page()
            except ServiceUnavailable:
                response = views.unavailable_page()
            response.headers.update(security_headers(tls=served_over_tls(request)))
            return response

        return page_handler


def page_router() -> APIRouter:
    return APIRouter(include_in_schema=False, route_class=PageRoute)


def redirect(url: str) -> Response:
    """303 See Other, never cached (it may set the manage cookie)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


# --- clients ----------------------------------------------------------------------


@dataclass
class WebClients:
    providers: ProvidersClient
    listing: ListingClient
    bookings: BookingsClient


WebClientsDep = Annotated[WebClients, Depends(state_dependency(WebClients))]


async def load_provider(clients: WebClients, slug: str) -> PublicProvider:
    if not _SLUG.match(slug):
        raise NotFound("no such provider")
    try:
        return await clients.providers.provider_by_slug(slug)
    except InvalidInput as exc:
        raise NotFound("no such provider") from exc


# --- parsing what people type into URLs -------------------------------------------


def parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound("no such id") from exc


def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def page_context(
    provider: PublicProvider, zone: str, *, embed: bool = False, **more: Any
) -> dict[str, Any]:
    """What every booking page's template gets; ``embed`` pages (inside another site's
    iframe, :mod:`calisera.web.embed_pages`) link to each other under ``/p/{slug}/embed``."""
    return {
        "provider": provider,
        "embed": embed,
        "page_base": f"/p/{provider.slug}/embed" if embed else f"/p/{provider.slug}",
        "zone": zone,
        "zone_label": views.zone_label(zone),
        "provider_zone_label": views.zone_label(provider.timezone),
        "q": views.query,
        **more,
    }
