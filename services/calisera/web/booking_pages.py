"""The booking screens: the provider's page, the week of free times, the form, booking.

Flow: ``/p/{slug}`` (provider and services) → ``/p/{slug}/s/{id}`` (a month
calendar with the days that have free time, then one day's times, in the customer's
zone) → ``/p/{slug}/s/{id}/book?start=`` (form; a class may be booked for several
weeks, a series) → ``POST`` → 303 to the (first) booking's manage page, its token kept
in the manage cookie (:mod:`calisera.web.manage_token`). A taken slot or a reached
limit re-renders the picker (409) with the reason, invalid input re-renders the form
(422). An event's or class's full occurrences are listed under the calendar with "Join
the waitlist" (:mod:`calisera.web.waitlist_pages`).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import Response

from calisera.bookings.client import LimitReached, SlotUnavailable
from calisera.core.dependencies import PlatformDep
from calisera.core.errors import InvalidInput
from calisera.web import manage_token, month_calendar, page_meta, social_card, views
from calisera.web.booking_form import (
    FIELDS,
    BookingForm,
    answer_field,
    form_errors,
    new_nonce,
    posted_answers,
)
from calisera.web.clients import Booking, FreeSlot, PublicProvider, PublicService
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
from calisera.web.waitlist_pages import full_times

router = page_router()
MAX_LISTING_DAYS = 62
"""The listing API's longest range per request."""


@router.get("/p/{slug}")
async def provider_page(
    platform: PlatformDep, clients: WebClientsDep, slug: str, tz: str | None = None
) -> Response:
    provider = await load_provider(clients, slug)
    return render_provider(platform.settings.public_url, provider, tz=tz)


def render_provider(
    public_url: str, provider: PublicProvider, *, tz: str | None, embed: bool = False
) -> Response:
    zone = views.customer_zone(tz, provider.timezone)
    return views.render(
        "provider.html",
        **page_context(
            provider,
            zone,
            embed=embed,
            services=provider.bookable_services,
            tz=zone if tz else None,
            social=page_meta.social_meta(public_url, provider),
            structured_data=page_meta.json_ld(public_url, provider),
        ),
    )


@router.get("/p/{slug}/card.png")
async def provider_card(clients: WebClientsDep, slug: str) -> Response:
    """The link preview image (Open Graph, Twitter card); its URL carries ``?v=`` of the
    content, so it may be cached for a day."""
    provider = await load_provider(clients, slug)
    card = page_meta.card_of(provider)
    return Response(
        await asyncio.to_thread(social_card.render_card, card),  # ~0.1 s of drawing, once
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{card.version}"'},
    )


@router.get("/p/{slug}/theme.css")
async def provider_theme(clients: WebClientsDep, slug: str, preview: str | None = None) -> Response:
    """The provider's accent colour as a stylesheet (the CSP forbids inline styles);
    ``?preview=#rrggbb`` is another colour, for the console's page builder preview."""
    provider = await load_provider(clients, slug)
    colour = views.accent_color(preview or provider.accent_color)
    return Response(
        f":root {{ --accent: {colour}; }}\n",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )


# --- picking a time ------------------------------------------------------------------


NEXT_FREE_LOOKUPS = 4
"""How many listing ranges (62 days each) past an empty month are searched for the next
free day: about eight months, so a page with nothing to book costs a bounded few calls."""


def last_bookable_day(service: PublicService, today: date) -> date:
    return today + timedelta(days=max(service.booking_window_days, 0))


async def free_times(
    clients: WebClients, service: PublicService, first: date, last: date, zone: str
) -> list[FreeSlot]:
    if last < first:
        return []
    return (await clients.listing.availability(service.id, first, last, zone)).slots


async def next_free_day(
    clients: WebClients, service: PublicService, after: date, last_bookable: date, zone: str
) -> date | None:
    """The first day after ``after`` with a free time, looked up in 62-day ranges."""
    first = after + timedelta(days=1)
    for _ in range(NEXT_FREE_LOOKUPS):
        if first > last_bookable:
            return None
        last = min(first + timedelta(days=MAX_LISTING_DAYS - 1), last_bookable)
        days = views.group_by_day(await free_times(clients, service, first, last, zone), zone)
        if days:
            return days[0].day
        first = last + timedelta(days=1)
    return None


async def render_picker(
    clients: WebClients,
    provider: PublicProvider,
    service: PublicService,
    *,
    tz: str | None,
    start_from: str | None,
    month: str | None = None,
    message: str | None = None,
    status_code: int = 200,
    reschedule: Booking | None = None,
    social: page_meta.SocialMeta | None = None,
    embed: bool = False,
) -> Response:
    """A month with its free days marked and one day's times (``start_from`` picks the
    day, ``month`` the month); with ``reschedule``, the times move that booking."""
    zone = views.customer_zone(tz, provider.timezone)
    today = views.today_in(zone, datetime.now(UTC))
    last_bookable = last_bookable_day(service, today)
    requested = parse_date(start_from)
    shown = month_calendar.shown_month(
        month_calendar.parse_month(month), requested, today, last_bookable
    )
    first, last = month_calendar.bookable_range(shown, today, last_bookable)
    slots = await free_times(clients, service, first, last, zone)
    if reschedule is not None:
        slots = [s for s in slots if s.start != reschedule.start]
    days = views.group_by_day(slots, zone)
    calendar = month_calendar.month_view(
        shown,
        {d.day: len(d.slots) for d in days},
        requested=requested,
        today=today,
        last_bookable=last_bookable,
    )
    chosen = next((d for d in days if d.day == calendar.selected), None)
    full = []
    if reschedule is None:
        full = await full_times(
            clients, provider, service, first, last, {s.start for s in slots}, zone
        )
    upcoming = None
    if not calendar.has_free_time:
        upcoming = await next_free_day(clients, service, last, last_bookable, zone)
    picker_path = (
        manage_token.manage_path(provider.slug, reschedule.id) + "/reschedule"
        if reschedule is not None
        else f"/p/{provider.slug}{'/embed' if embed else ''}/s/{service.id}"
    )
    return views.render(
        "picker.html",
        status_code=status_code,
        **page_context(
            provider,
            zone,
            embed=embed,
            service=service,
            calendar=calendar,
            weekdays=month_calendar.WEEKDAYS,
            chosen=chosen,
            upcoming=upcoming,
            upcoming_text=views.day_text(upcoming) if upcoming else None,
            message=message,
            tz=tz,
            zones=views.zone_choices(),
            reschedule=reschedule,
            picker_path=picker_path,
            social=social,
            full_times=full,
        ),
    )


@router.get("/p/{slug}/s/{service_id}")
async def service_page(
    platform: PlatformDep,
    clients: WebClientsDep,
    slug: str,
    service_id: str,
    tz: str | None = None,
    start_from: Annotated[str | None, Query(alias="from")] = None,
    day: str | None = None,
    month: str | None = None,
) -> Response:
    """``?day=`` (or the older ``?from=``) picks a day, ``?month=YYYY-MM`` a month."""
    provider = await load_provider(clients, slug)
    service = provider.service(parse_uuid(service_id))
    return await render_picker(
        clients,
        provider,
        service,
        tz=tz,
        start_from=day or start_from,
        month=month,
        social=page_meta.social_meta(platform.settings.public_url, provider, service),
    )


# --- booking -------------------------------------------------------------------------


def render_form(
    provider: PublicProvider,
    service: PublicService,
    *,
    start: datetime,
    tz: str | None,
    seats_left: int | None,
    values: dict[str, str] | None = None,
    answers: dict[str, str | list[str]] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
    embed: bool = False,
) -> Response:
    """The details form, the service's questions after the contact fields; in an
    ``embed`` it posts to the whole window (``target=_top``):
    the booking and its manage page then belong to this site, cookie and all."""
    zone = views.customer_zone(tz, provider.timezone)
    end = start + timedelta(minutes=service.duration_minutes)
    return views.render(
        "book.html",
        status_code=status_code,
        **page_context(
            provider,
            zone,
            embed=embed,
            service=service,
            start_iso=start.isoformat(),
            when=views.when_text(start, end, zone),
            tz=tz,
            nonce=new_nonce(),
            values={k: "" for k in FIELDS} | (values or {}),
            questions=service.questions,
            answer_field=answer_field,
            answers=answers or {},
            errors=errors or {},
            message=message,
            max_seats=max(1, min(seats_left or service.capacity, 10)),
            week_choices=WEEK_CHOICES,
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
    posted = await request.form()
    answers, shown = posted_answers(
        service.questions, {k: [str(v) for v in posted.getlist(k)] for k in posted}
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
            answers=shown,
            errors=missing,
            status_code=422,
        )
    body = form.request_body(service.id, instant, zone, answers)
    week_of_start = views.local(instant, zone).date().isoformat()
    try:
        booked = await _create(clients, form, body)
    except (SlotUnavailable, LimitReached) as exc:  # taken, a full week, the customer's limits
        message = (
            exc.detail
            if isinstance(exc, LimitReached)
            else "Sorry, that time was just taken. Please pick another one."
        )
        if form.is_series:
            message = series_refusal(exc, zone)
        return await render_picker(
            clients,
            provider,
            service,
            tz=form.tz,
            start_from=week_of_start,
            message=message,
            status_code=409,
        )
    except InvalidInput as exc:
        errors, about_something_else = form_errors(exc.errors, service.questions)
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
            answers=shown,
            errors=errors,
            message=exc.detail if about_something_else else None,
            status_code=422,
        )
    path = manage_token.manage_path(provider.slug, booked.booking_id)
    response = redirect(path + views.query(tz=zone, booked=1, skipped=booked.skipped or None))
    if booked.manage_token:
        manage_token.remember(response, request, path=path, token=booked.manage_token)
    return response


WEEK_CHOICES = (1, 2, 4, 6, 8, 10, 12)
"""How many weeks of a class the booking form offers."""


@dataclass(frozen=True)
class Booked:
    """What the form booked: the (first) booking, its manage token, the classes skipped."""

    booking_id: uuid.UUID
    manage_token: str | None
    skipped: int = 0


async def _create(clients: WebClients, form: BookingForm, body: dict[str, Any]) -> Booked:
    key = form.idempotency_key(body)
    if not form.is_series:
        booking = await clients.bookings.create_booking(body, idempotency_key=key)
        return Booked(booking.id, booking.manage_token)
    series = await clients.bookings.create_series(body, idempotency_key=key)
    return Booked(series.bookings[0].id, series.manage_token, len(series.skipped))


def series_refusal(exc: SlotUnavailable | LimitReached, zone: str) -> str:
    """Why an all-or-nothing series booked nothing, naming the class that stopped it."""
    start = parse_instant(str(exc.extra.get("start") or ""))
    which = (
        f"the class on {views.day_text(views.local(start, zone).date())}" if start else "a class"
    )
    why = "is full" if isinstance(exc, SlotUnavailable) else "is over a booking limit"
    return (
        f'Sorry, {which} {why}, so nothing was booked. Tick "If a class is full, book the '
        'others" to book the rest, or pick another start.'
    )
