"""HTTP routes of the web service: the customer booking pages, the provider console shell
and the static assets.

Pages are rendered on the server and work without JavaScript; a few lines of script only
tell the server the browser's time zone (``?tz=``). Every page talks to the other
services through their public HTTP contract (:mod:`calisera.web.clients`).

Flow: ``/p/{slug}`` (provider and services) → ``/p/{slug}/s/{id}`` (free slots of a
week, in the customer's zone) → ``/p/{slug}/s/{id}/book?start=`` (form) → ``POST`` →
303 to ``/p/{slug}/manage/{booking}?token=`` (confirmation, add to calendar, cancel,
reschedule). Errors are pages, not JSON: unknown things are a friendly 404, a taken
slot re-renders the picker (409), invalid input re-renders the form (422).
"""

from __future__ import annotations

import contextlib
import functools
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ParamSpec

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from calisera.core.errors import InvalidInput, NotFound, ServiceUnavailable
from calisera.core.platform import Platform, ServiceSpec
from calisera.web import bff, views
from calisera.web.booking_form import FIELDS, BookingForm, form_errors, new_nonce
from calisera.web.clients import (
    Booking,
    BookingConflict,
    BookingsClient,
    ListingClient,
    ProvidersClient,
    PublicProvider,
    PublicService,
    SlotTaken,
)

router = APIRouter(include_in_schema=False)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass
class WebClients:
    providers: ProvidersClient
    listing: ListingClient
    bookings: BookingsClient


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


def clients_of(request: Request) -> WebClients:
    web: WebClients = request.app.state.platform.get(WebClients)
    return web


P = ParamSpec("P")


def html_errors(route: Callable[P, Awaitable[Response]]) -> Callable[P, Awaitable[Response]]:
    """Unknown things become the 404 page and an unreachable service the 503 page."""

    @functools.wraps(route)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await route(*args, **kwargs)
        except NotFound:
            return views.not_found_page()
        except ServiceUnavailable:
            return views.unavailable_page()

    return wrapper


async def load_provider(request: Request, slug: str) -> PublicProvider:
    if not _SLUG.match(slug):
        raise NotFound("no such provider")
    try:
        return await clients_of(request).providers.provider_by_slug(slug)
    except InvalidInput as exc:
        raise NotFound("no such provider") from exc


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


def page_context(provider: PublicProvider, zone: str, **more: Any) -> dict[str, Any]:
    return {
        "provider": provider,
        "zone": zone,
        "zone_label": views.zone_label(zone),
        "provider_zone_label": views.zone_label(provider.timezone),
        "q": views.query,
        **more,
    }


# --- provider page -------------------------------------------------------------------


@router.get("/p/{slug}")
@html_errors
async def provider_page(request: Request, slug: str, tz: str | None = None) -> Response:
    provider = await load_provider(request, slug)
    zone = views.customer_zone(tz, provider.timezone)
    return views.render(
        "provider.html",
        **page_context(
            provider, zone, services=provider.bookable_services, tz=zone if tz else None
        ),
    )


@router.get("/p/{slug}/theme.css")
@html_errors
async def provider_theme(request: Request, slug: str) -> Response:
    """The provider's accent colour as a stylesheet (the CSP forbids inline styles)."""
    provider = await load_provider(request, slug)
    colour = views.accent_color(provider.accent_color)
    return Response(
        f":root {{ --accent: {colour}; }}\n",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300", **views.SECURITY_HEADERS},
    )


# --- picking a time ------------------------------------------------------------------


async def render_picker(
    request: Request,
    provider: PublicProvider,
    service: PublicService,
    *,
    tz: str | None,
    start_from: str | None,
    message: str | None = None,
    status_code: int = 200,
    reschedule: Booking | None = None,
    token: str | None = None,
) -> Response:
    zone = views.customer_zone(tz, provider.timezone)
    today = views.today_in(zone, datetime.now(UTC))
    week = views.week_from(parse_date(start_from), today, service.kind)
    availability = await clients_of(request).listing.availability(
        service.id, week.first, week.last, zone
    )
    slots = availability.slots
    if reschedule is not None:
        slots = [s for s in slots if s.start != reschedule.start]
    return views.render(
        "picker.html",
        status_code=status_code,
        **page_context(
            provider,
            zone,
            service=service,
            days=views.group_by_day(slots, zone),
            week=week,
            week_title=f"{views.short_day_text(week.first)} - {views.short_day_text(week.last)}",
            message=message,
            tz=tz,
            reschedule=reschedule,
            token=token,
            picker_path=(
                f"/p/{provider.slug}/manage/{reschedule.id}/reschedule"
                if reschedule is not None
                else f"/p/{provider.slug}/s/{service.id}"
            ),
        ),
    )


@router.get("/p/{slug}/s/{service_id}")
@html_errors
async def service_page(
    request: Request,
    slug: str,
    service_id: str,
    tz: str | None = None,
    start_from: Annotated[str | None, Query(alias="from")] = None,
) -> Response:
    provider = await load_provider(request, slug)
    service = provider.service(parse_uuid(service_id))
    return await render_picker(request, provider, service, tz=tz, start_from=start_from)


# --- booking -------------------------------------------------------------------------


def render_form(
    provider: PublicProvider,
    service: PublicService,
    *,
    start: datetime,
    tz: str | None,
    seats_left: int | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    zone = views.customer_zone(tz, provider.timezone)
    end = start + timedelta(minutes=service.duration_minutes)
    return views.render(
        "book.html",
        status_code=status_code,
        **page_context(
            provider,
            zone,
            service=service,
            start_iso=start.isoformat(),
            when=views.when_text(start, end, zone),
            tz=tz,
            nonce=new_nonce(),
            values={k: "" for k in FIELDS} | (values or {}),
            errors=errors or {},
            message=message,
            max_seats=max(1, min(seats_left or service.capacity, 10)),
        ),
    )


@router.get("/p/{slug}/s/{service_id}/book")
@html_errors
async def booking_form(
    request: Request,
    slug: str,
    service_id: str,
    start: str | None = None,
    tz: str | None = None,
    seats_left: int | None = None,
) -> Response:
    provider = await load_provider(request, slug)
    service = provider.service(parse_uuid(service_id))
    instant = parse_instant(start)
    if instant is None:
        return RedirectResponse(
            f"/p/{provider.slug}/s/{service.id}{views.query(tz=tz)}", status_code=303
        )
    return render_form(provider, service, start=instant, tz=tz, seats_left=seats_left)


@router.post("/p/{slug}/s/{service_id}/book")
@html_errors
async def book(
    request: Request, slug: str, service_id: str, form: Annotated[BookingForm, Form()]
) -> Response:
    provider = await load_provider(request, slug)
    service = provider.service(parse_uuid(service_id))
    instant = parse_instant(form.start)
    zone = views.customer_zone(form.tz, provider.timezone)
    if instant is None:
        return await render_picker(
            request,
            provider,
            service,
            tz=form.tz,
            start_from=None,
            message="Please pick a time first.",
            status_code=422,
        )
    missing = form.missing()
    if missing:
        return render_form(
            provider,
            service,
            start=instant,
            tz=form.tz,
            seats_left=None,
            values=form.values(),
            errors=missing,
            status_code=422,
        )
    body = form.request_body(service.id, instant, zone)
    try:
        booking = await clients_of(request).bookings.create_booking(
            body, idempotency_key=form.idempotency_key(body)
        )
    except SlotTaken:
        return await render_picker(
            request,
            provider,
            service,
            tz=form.tz,
            start_from=views.local(instant, zone).date().isoformat(),
            message="Sorry, that time was just taken. Please pick another one.",
            status_code=409,
        )
    except InvalidInput as exc:
        errors, about_something_else = form_errors(exc.errors)
        if not errors:
            return await render_picker(
                request,
                provider,
                service,
                tz=form.tz,
                start_from=views.local(instant, zone).date().isoformat(),
                message=f"That time cannot be booked: {exc.detail}. Please pick another one.",
                status_code=422,
            )
        return render_form(
            provider,
            service,
            start=instant,
            tz=form.tz,
            seats_left=None,
            values=form.values(),
            errors=errors,
            message=exc.detail if about_something_else else None,
            status_code=422,
        )
    return RedirectResponse(
        f"/p/{provider.slug}/manage/{booking.id}"
        + views.query(token=booking.manage_token, tz=zone, booked=1),
        status_code=303,
    )


# --- managing a booking --------------------------------------------------------------


async def load_booking(
    request: Request, provider: PublicProvider, booking_id: str, token: str | None
) -> Booking:
    if not token:
        raise NotFound("no manage token")
    booking = await clients_of(request).bookings.get_booking(parse_uuid(booking_id), token)
    if booking.provider_id != provider.id:
        raise NotFound("not a booking of this provider")
    return booking


def service_of(provider: PublicProvider, booking: Booking) -> PublicService | None:
    return next((s for s in provider.services if s.id == booking.service_id), None)


@router.get("/p/{slug}/manage/{booking_id}")
@html_errors
async def manage_page(
    request: Request,
    slug: str,
    booking_id: str,
    token: str | None = None,
    tz: str | None = None,
    booked: str | None = None,
    done: str | None = None,
) -> Response:
    provider = await load_provider(request, slug)
    booking = await load_booking(request, provider, booking_id, token)
    assert token is not None
    return render_manage(provider, booking, token=token, tz=tz, booked=booked, done=done)


def render_manage(
    provider: PublicProvider,
    booking: Booking,
    *,
    token: str,
    tz: str | None,
    booked: str | None = None,
    done: str | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    zone = views.customer_zone(tz or booking.customer.timezone, provider.timezone)
    service = service_of(provider, booking)
    base = f"/p/{provider.slug}/manage/{booking.id}"
    return views.render(
        "manage.html",
        status_code=status_code,
        **page_context(
            provider,
            zone,
            booking=booking,
            service=service,
            service_name=booking.service_name or (service.name if service else "Booking"),
            when=views.when_text(booking.start, booking.end, zone),
            just_booked=booked == "1",
            done=done,
            message=message,
            token=token,
            manage_url=base + views.query(token=token),
            ics_url=f"{base}/booking.ics" + views.query(token=token),
            reschedule_url=f"{base}/reschedule" + views.query(token=token, tz=zone),
            tz=zone,
        ),
    )


@router.get("/p/{slug}/manage/{booking_id}/booking.ics")
@html_errors
async def booking_calendar_file(
    request: Request, slug: str, booking_id: str, token: str | None = None
) -> Response:
    """The booking's .ics, fetched with the manage token in the header (a link cannot
    carry a header, so the page links here rather than to the bookings API)."""
    provider = await load_provider(request, slug)
    booking = await load_booking(request, provider, booking_id, token)
    assert token is not None
    body = await clients_of(request).bookings.booking_ics(booking.id, token)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="booking-{booking.id}.ics"',
            **views.SECURITY_HEADERS,
        },
    )


@router.post("/p/{slug}/manage/{booking_id}/cancel")
@html_errors
async def cancel(
    request: Request,
    slug: str,
    booking_id: str,
    token: Annotated[str, Form()] = "",
    tz: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    provider = await load_provider(request, slug)
    booking = await load_booking(request, provider, booking_id, token)
    try:
        await clients_of(request).bookings.cancel_booking(
            booking.id, token, reason.strip()[:2000] or None
        )
    except BookingConflict as exc:
        return render_manage(
            provider, booking, token=token, tz=tz, message=exc.detail, status_code=409
        )
    return RedirectResponse(
        f"/p/{provider.slug}/manage/{booking.id}"
        + views.query(token=token, tz=tz or None, done="cancelled"),
        status_code=303,
    )


@router.get("/p/{slug}/manage/{booking_id}/reschedule")
@html_errors
async def reschedule_page(
    request: Request,
    slug: str,
    booking_id: str,
    token: str | None = None,
    tz: str | None = None,
    start_from: Annotated[str | None, Query(alias="from")] = None,
) -> Response:
    provider = await load_provider(request, slug)
    booking = await load_booking(request, provider, booking_id, token)
    service = service_of(provider, booking)
    if service is None or booking.status != "confirmed":
        raise NotFound("this booking cannot be moved")
    return await render_picker(
        request,
        provider,
        service,
        tz=tz or booking.customer.timezone,
        start_from=start_from,
        reschedule=booking,
        token=token,
    )


@router.post("/p/{slug}/manage/{booking_id}/reschedule")
@html_errors
async def reschedule(
    request: Request,
    slug: str,
    booking_id: str,
    token: Annotated[str, Form()] = "",
    tz: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
) -> Response:
    provider = await load_provider(request, slug)
    booking = await load_booking(request, provider, booking_id, token)
    service = service_of(provider, booking)
    if service is None or booking.status != "confirmed":
        raise NotFound("this booking cannot be moved")
    instant = parse_instant(start)
    if instant is None:
        message, status_code = "Please pick a new time.", 422
    else:
        try:
            await clients_of(request).bookings.reschedule_booking(booking.id, token, instant)
        except SlotTaken:
            message, status_code = "Sorry, that time was just taken. Please pick another one.", 409
        except BookingConflict as exc:
            return render_manage(
                provider, booking, token=token, tz=tz, message=exc.detail, status_code=409
            )
        except InvalidInput as exc:
            message = f"That time cannot be booked: {exc.detail}. Please pick another one."
            status_code = 422
        else:
            return RedirectResponse(
                f"/p/{provider.slug}/manage/{booking.id}"
                + views.query(token=token, tz=tz or None, done="rescheduled"),
                status_code=303,
            )
    return await render_picker(
        request,
        provider,
        service,
        tz=tz or booking.customer.timezone,
        start_from=None,
        reschedule=booking,
        token=token,
        message=message,
        status_code=status_code,
    )


# --- provider console (installable PWA shell) ---------------------------------------


@router.get("/console")
async def console() -> Response:
    return views.render("console.html", provider=None)


@router.get("/console/manifest.webmanifest")
async def console_manifest() -> Response:
    return FileResponse(
        views.STATIC_DIR / "console" / "manifest.webmanifest",
        media_type="application/manifest+json",
        headers=views.SECURITY_HEADERS,
    )


@router.get("/console/sw.js")
async def console_service_worker() -> Response:
    """Served under /console so its scope can be the console (not the customer pages)."""
    return FileResponse(
        views.STATIC_DIR / "console" / "sw.js",
        media_type="text/javascript",
        headers={
            "Service-Worker-Allowed": "/console",
            "Cache-Control": "no-cache",
            **views.SECURITY_HEADERS,
        },
    )


# --- static assets -------------------------------------------------------------------

_MEDIA_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


@router.get("/static/{path:path}")
async def static_file(path: str) -> Response:
    """Files of ``calisera/web/static`` (no directory listing, nothing outside it)."""
    root = views.STATIC_DIR
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return views.not_found_page("There is no such file.")
    return FileResponse(
        target,
        media_type=_MEDIA_TYPES.get(target.suffix, "application/octet-stream"),
        headers={"Cache-Control": "public, max-age=3600", **views.SECURITY_HEADERS},
    )


spec = ServiceSpec(name="web", routers=[router, bff.router], lifespan=bff.with_bff(lifespan))
