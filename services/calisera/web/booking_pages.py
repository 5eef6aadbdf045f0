"""The booking screens: the provider's page, the week of free times, the form, booking.

Flow: ``/p/{slug}`` (provider and services) → ``/p/{slug}/s/{id}`` (free slots of a
week, in the customer's zone) → ``/p/{slug}/s/{id}/book?start=`` (form) → ``POST`` →
303 to the booking's manage page, its token kept in the manage cookie
(:mod:`calisera.web.manage_token`). A taken slot re-renders the picker (409), invalid
input re-renders the form (422).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import Response

from calisera.bookings.client import SlotUnavailable
from calisera.core.errors import InvalidInput
from calisera.web import manage_token, views
from calisera.web.booking_form import FIELDS, BookingForm, form_errors, new_nonce
from calisera.web.clients import Booking, PublicProvider, PublicService
from calisera.web.pages import (
    WebClients,
    WebClientsDep,
    load_provider,
    page_context,
    page_router,
    parse_date,
    parse_instant,
    parse_uuid,
    redirect,
)

router = page_router()


@router.get("/p/{slug}")
async def provider_page(clients: WebClientsDep, slug: str, tz: str | None = None) -> Response:
    provider = await load_provider(clients, slug)
    zone = views.customer_zone(tz, provider.timezone)
    return views.render(
        "provider.html",
        **page_context(
            provider, zone, services=provider.bookable_services, tz=zone if tz else None
        ),
    )


@router.get("/p/{slug}/theme.css")
async def provider_theme(clients: WebClientsDep, slug: str) -> Response:
    """The provider's accent colour as a stylesheet (the CSP forbids inline styles)."""
    provider = await load_provider(clients, slug)
    colour = views.accent_color(provider.accent_color)
    return Response(
        f":root {{ --accent: {colour}; }}\n",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )


# --- picking a time ------------------------------------------------------------------


async def render_picker(
    clients: WebClients,
    provider: PublicProvider,
    service: PublicService,
    *,
    tz: str | None,
    start_from: str | None,
    message: str | None = None,
    status_code: int = 200,
    reschedule: Booking | None = None,
) -> Response:
    """The week of free times; with ``reschedule``, its slots move that booking."""
    zone = views.customer_zone(tz, provider.timezone)
    today = views.today_in(zone, datetime.now(UTC))
    week = views.week_from(parse_date(start_from), today, service.kind)
    availability = await clients.listing.availability(service.id, week.first, week.last, zone)
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
            picker_path=(
                manage_token.manage_path(provider.slug, reschedule.id) + "/reschedule"
                if reschedule is not None
                else f"/p/{provider.slug}/s/{service.id}"
            ),
        ),
    )


@router.get("/p/{slug}/s/{service_id}")
async def service_page(
    clients: WebClientsDep,
    slug: str,
    service_id: str,
    tz: str | None = None,
    start_from: Annotated[str | None, Query(alias="from")] = None,
) -> Response:
    provider = await load_provider(clients, slug)
    service = provider.service(parse_uuid(service_id))
    return await render_picker(clients, provider, service, tz=tz, start_from=start_from)


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
async def booking_form(
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
        return redirect(f"/p/{provider.slug}/s/{service.id}{views.query(tz=tz)}")
    return render_form(provider, service, start=instant, tz=tz, seats_left=seats_left)


@router.post("/p/{slug}/s/{service_id}/book")
async def book(
    request: Request,
    clients: WebClientsDep,
    slug: str,
    service_id: str,
    form: Annotated[BookingForm, Form()],
) -> Response:
    provider = await load_provider(clients, slug)
    service = provider.service(parse_uuid(service_id))
    instant = parse_instant(form.start)
    zone = views.customer_zone(form.tz, provider.timezone)
    if instant is None:
        return await render_picker(
            clients,
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
    week_of_start = views.local(instant, zone).date().isoformat()
    try:
        booking = await clients.bookings.create_booking(
            body, idempotency_key=form.idempotency_key(body)
        )
    except SlotUnavailable:
        return await render_picker(
            clients,
            provider,
            service,
            tz=form.tz,
            start_from=week_of_start,
            message="Sorry, that time was just taken. Please pick another one.",
            status_code=409,
        )
    except InvalidInput as exc:
        errors, about_something_else = form_errors(exc.errors)
        if not errors:
            return await render_picker(
                clients,
                provider,
                service,
                tz=form.tz,
                start_from=week_of_start,
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
    path = manage_token.manage_path(provider.slug, booking.id)
    response = redirect(path + views.query(tz=zone, booked=1))
    if booking.manage_token:
        manage_token.remember(response, request, path=path, token=booking.manage_token)
    return response
