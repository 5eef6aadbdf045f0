"""The booking page inside another site: ``/p/{slug}/embed`` (and its service and form
screens under it) may be framed by any site, every other page only by ours.

The provider pastes the snippet of :func:`snippet` (shown on the console's share screen):
an iframe, and a few lines that grow it to the height the page reports. The page posts
``{"type": "calisera:resize", "height": <px>}`` to its parent whenever its height changes
(``/static/web.js``); the snippet only listens to messages from Calisera's origin.

Picking a time happens in the frame; the details form posts to the whole window
(``target="_top"``), so the booking, its confirmation and its manage cookie live on this
site as a first party, not as a third party cookie a browser may refuse. Manage pages,
which hold the buttons that cancel a booking, are never framed (no clickjacking).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import escape

from calisera.core.dependencies import PlatformDep
from calisera.web import booking_pages, views
from calisera.web.pages import (
    CONTENT_SECURITY_POLICY,
    PageRoute,
    WebClientsDep,
    load_provider,
    parse_instant,
    parse_uuid,
    redirect,
)

EMBED_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "frame-ancestors 'self'", "frame-ancestors *"
)
MIN_HEIGHT = 640


class EmbedRoute(PageRoute):
    """A page route whose answers any site may frame."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def embed_handler(request: Request) -> Response:
            response = await handler(request)
            response.headers["Content-Security-Policy"] = EMBED_CONTENT_SECURITY_POLICY
            return response

        return embed_handler


router = APIRouter(include_in_schema=False, route_class=EmbedRoute)


@router.get("/p/{slug}/embed")
async def embedded_provider_page(
    platform: PlatformDep, clients: WebClientsDep, slug: str, tz: str | None = None
) -> Response:
    provider = await load_provider(clients, slug)
    return booking_pages.render_provider(platform.settings.public_url, provider, tz=tz, embed=True)


@router.get("/p/{slug}/embed/s/{service_id}")
async def embedded_service_page(
    clients: WebClientsDep,
    slug: str,
    service_id: str,
    tz: str | None = None,
    day: str | None = None,
    month: str | None = None,
    start_from: Annotated[str | None, Query(alias="from")] = None,
) -> Response:
    provider = await load_provider(clients, slug)
    service = provider.service(parse_uuid(service_id))
    return await booking_pages.render_picker(
        clients, provider, service, tz=tz, start_from=day or start_from, month=month, embed=True
    )


@router.get("/p/{slug}/embed/s/{service_id}/book")
async def embedded_booking_form(
    clients: WebClientsDep,
    slug: str,
    service_id: str,
    start: str | None = None,
    tz: str | None = None,
    seats_left: int | None = None,
) -> Response:
    provider = await load_provider(clients, slug)
    service = provider.service(parse_uuid(service_id))
    instant = parse_instant(start)
    if instant is None:
        return redirect(f"/p/{provider.slug}/embed/s/{service.id}{views.query(tz=tz)}")
    return booking_pages.render_form(
        provider, service, start=instant, tz=tz, seats_left=seats_left, embed=True
    )


def snippet(public_url: str, slug: str, name: str) -> str:
    """The HTML a provider pastes into their site (shown escaped on the share screen)."""
    origin = public_url.rstrip("/")
    frame_id = f"calisera-{slug}"
    return (
        f'<iframe id="{frame_id}" src="{origin}/p/{slug}/embed" '
        f'title="Book with {escape(name)}" loading="lazy" '
        f'style="width:100%;max-width:40rem;min-height:{MIN_HEIGHT}px;border:0"></iframe>\n'
        "<script>\n"
        'addEventListener("message", function (e) {\n'
        f'  if (e.origin !== "{origin}" || !e.data || e.data.type !== "calisera:resize") return;\n'
        f'  var f = document.getElementById("{frame_id}");\n'
        "  if (f && e.source === f.contentWindow) f.style.height = Math.max("
        f'{MIN_HEIGHT}, +e.data.height || 0) + "px";\n'
        "});\n"
        "</script>"
    )
