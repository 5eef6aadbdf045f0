"""The web service: its screens' routers and the clients they share.

Pages are rendered on the server and work without JavaScript; a few lines of script only
tell the server the browser's time zone (``?tz=``). Every page talks to the other
services through their public HTTP contract (:mod:`calisera.web.clients`). Screens:
:mod:`~calisera.web.booking_pages` (provider page, picker, form),
:mod:`~calisera.web.manage_pages` (one booking's confirmation, cancel, reschedule),
:mod:`~calisera.web.waitlist_pages` (joining a full occurrence's waitlist, claiming an offer),
:mod:`~calisera.web.console_pages` (provider console, static assets),
:mod:`~calisera.web.explore_pages` (``/``, ``/explore``, ``/sitemap.xml``); what they share
(error pages, security headers, the clients state) is :mod:`~calisera.web.pages`. The
Backend-for-Frontend of the console and apps is :mod:`~calisera.web.bff` (JSON, not pages).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from calisera.core.platform import Platform, ServiceSpec
from calisera.web import (
    bff,
    booking_pages,
    console_agenda,
    console_clients,
    console_hours,
    console_insights,
    console_integrations,
    console_page_builder,
    console_pages,
    console_passkeys,
    console_services,
    console_setup,
    console_share,
    embed_pages,
    explore_pages,
    manage_pages,
    waitlist_pages,
)
from calisera.web.clients import BookingsClient, ListingClient, ProvidersClient
from calisera.web.pages import WebClients


@contextlib.asynccontextmanager
async def lifespan(platform: Platform) -> AsyncIterator[None]:
    clients = WebClients(
        providers=ProvidersClient(platform),
        listing=ListingClient(platform),
        bookings=BookingsClient(platform),
    )
    platform.provide(clients)
    try:
        yield
    finally:
        platform.discard(WebClients)
        for client in (clients.providers, clients.listing, clients.bookings):
            await client.aclose()


spec = ServiceSpec(
    name="web",
    routers=[
        explore_pages.router,
        booking_pages.router,
        embed_pages.router,
        manage_pages.router,
        waitlist_pages.router,
        console_pages.router,
        console_passkeys.router,
        console_setup.router,
        console_services.router,
        console_hours.router,
        console_agenda.router,
        console_clients.router,
        console_share.router,
        console_page_builder.router,
        console_insights.router,
        console_integrations.router,
        bff.router,
    ],
    lifespan=bff.with_bff(lifespan),
)
