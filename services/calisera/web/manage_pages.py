"""The manage screens of one booking: confirmation, add to calendar, cancel, reschedule;
for a booking of a class series also the series' other classes, each cancellable, and
"cancel this and every later class" (one manage token manages the series).

Every route here is reached with the manage token in the booking's cookie
(:mod:`calisera.web.manage_token`); an address that still carries ``?token=`` is a
landing from an e-mail and is answered by moving the token into the cookie. Without a
valid token the booking does not exist (404 page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import Response

from calisera.bookings.client import CHANGE_REFUSED, SlotUnavailable
from calisera.core.errors import InvalidInput, NotFound
from calisera.web import manage_token, views
from calisera.web.booking_pages import render_picker
from calisera.web.calendar_links import CalendarEvent, google_link, outlook_link
from calisera.web.change_windows import change_windows
from calisera.web.clients import Booking, PublicProvider, PublicService, Series
from calisera.web.pages import (
    WebClients,
    WebClientsDep,
    load_provider,
    page_context,
    page_router,
    parse_instant,
    parse_uuid,
    redirect,
)

router = page_router()

MANAGE = "/p/{slug}/manage/{booking_id}"


async def load_booking(
    clients: WebClients, provider: PublicProvider, booking_id: str, token: str
) -> Booking:
    booking = await clients.bookings.get_booking(parse_uuid(booking_id), token)
    if booking.provider_id != provider.id:
        raise NotFound("not a booking of this provider")
    return booking


async def held_booking(
    request: Request, clients: WebClients, provider: PublicProvider, booking_id: str
) -> tuple[Booking, str]:
    """The booking whose manage cookie this browser holds, and that token."""
    held = manage_token.token_of(request)
    if not held:
        raise NotFound("no manage token")
    return await load_booking(clients, provider, booking_id, held), held


async def landing(
    request: Request, clients: WebClients, provider: PublicProvider, booking_id: str, token: str
) -> Response:
    """``?token=`` verified, then kept in the cookie and dropped from the address."""
    booking = await load_booking(clients, provider, booking_id, token)
    path = manage_token.manage_path(provider.slug, booking.id)
    return manage_token.land(request, path=path, token=token)


def service_of(provider: PublicProvider, booking: Booking) -> PublicService | None:
    return next((s for s in provider.services if s.id == booking.service_id), None)


@dataclass(frozen=True)
class SeriesClass:
    """One class of the customer's series, as the manage page lists it."""

    booking: Booking
    when: str
    can_cancel: bool
    is_this: bool


def series_classes(
    series: Series | None,
    this: Booking,
    service: PublicService | None,
    zone: str,
    now: datetime,
) -> list[SeriesClass]:
    if series is None:
        return []
    out = []
    for member in series.bookings:
        windows = change_windows(member, service, zone, now)
        out.append(
            SeriesClass(
                booking=member,
                when=views.when_text(member.start, member.end, zone),
                can_cancel=member.status == "confirmed" and (windows is None or windows.can_cancel),
                is_this=member.id == this.id,
            )
        )
    return out


async def series_of(clients: WebClients, booking: Booking, held: str) -> Series | None:
    if booking.series_id is None:
        return None
    return await clients.bookings.booking_series(booking.id, held)


def render_manage(
    provider: PublicProvider,
    booking: Booking,
    *,
    tz: str | None,
    booked: str | None = None,
    done: str | None = None,
    message: str | None = None,
    status_code: int = 200,
    series: Series | None = None,
    skipped: int = 0,
) -> Response:
    zone = views.customer_zone(tz or booking.customer.timezone, provider.timezone)
    service = service_of(provider, booking)
    classes = series_classes(series, booking, service, zone, datetime.now(UTC))
    base = manage_token.manage_path(provider.slug, booking.id)
    service_name = booking.service_name or (service.name if service else "Booking")
    event = CalendarEvent(
        title=f"{service_name} · {provider.name}",
        start=booking.start,
        end=booking.end,
        details=f"Booked with {provider.name}: {provider.booking_url or ''}".rstrip(": "),
        location=(service.location_text if service else None) or "",
    )
    return views.render(
        "manage.html",
        status_code=status_code,
        **page_context(
            provider,
            zone,
            booking=booking,
            service=service,
            service_name=service_name,
            google_url=google_link(event),
            outlook_url=outlook_link(event),
            when=views.when_text(booking.start, booking.end, zone),
            just_booked=booked == "1",
            done=done,
            message=message,
            manage_url=base,
            ics_url=f"{base}/booking.ics",
            reschedule_url=f"{base}/reschedule" + views.query(tz=zone),
            windows=change_windows(booking, service, zone, datetime.now(UTC)),
            tz=zone,
            series_classes=classes,
            rest=[c for c in classes if c.can_cancel and c.booking.start >= booking.start],
            skipped=skipped,
        ),
    )


@router.get(MANAGE)
async def manage_page(
    request: Request,
    clients: WebClientsDep,
    slug: str,
    booking_id: str,
    token: str | None = None,
    tz: str | None = None,
    booked: str | None = None,
    done: str | None = None,
    skipped: int = 0,
) -> Response:
    provider = await load_provider(clients, slug)
    if token is not None:
        return await landing(request, clients, provider, booking_id, token)
    booking, held = await held_booking(request, clients, provider, booking_id)
    series = await series_of(clients, booking, held)
    return render_manage(
        provider,
        booking,
        tz=tz,
        booked=booked,
        done=done,
        series=series,
        skipped=max(0, min(skipped, 52)),
    )


@router.get(MANAGE + "/booking.ics")
async def booking_calendar_file(
    request: Request,
    clients: WebClientsDep,
    slug: str,
    booking_id: str,
    token: str | None = None,
) -> Response:
    """The booking's .ics, fetched with the manage token in the header (a link cannot
    carry a header, so the page links here rather than to the bookings API)."""
    provider = await load_provider(clients, slug)
    if token is not None:
        return await landing(request, clients, provider, booking_id, token)
    booking, held = await held_booking(request, clients, provider, booking_id)
    body = await clients.bookings.booking_ics(booking.id, held)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="booking-{booking.id}.ics"',
            "Cache-Control": "no-store",
        },
    )


@router.post(MANAGE + "/cancel")
async def cancel(
    request: Request,
    clients: WebClientsDep,
    slug: str,
    booking_id: str,
    tz: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    occurrence: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "",
) -> Response:
    """Cancel the booking, or (a series) another class of it, ``occurrence``, which the
    series' one manage token also manages; ``scope=rest``: with every later class."""
    provider = await load_provider(clients, slug)
    booking, held = await held_booking(request, clients, provider, booking_id)
    target = booking
    if occurrence and occurrence != str(booking.id):
        target = await load_booking(clients, provider, occurrence, held)
        if target.series_id is None or target.series_id != booking.series_id:
            raise NotFound("not a class of this series")
    try:
        await clients.bookings.cancel_booking(
            target.id, held, reason.strip()[:2000] or None, rest_of_series=scope == "rest"
        )
    except CHANGE_REFUSED as exc:
        series = await series_of(clients, booking, held)
        return render_manage(
            provider, booking, tz=tz, message=exc.detail, status_code=409, series=series
        )
    return redirect(
        manage_token.manage_path(provider.slug, booking.id)
        + views.query(tz=tz or None, done=_cancelled(scope == "rest", target is not booking))
    )


def _cancelled(rest: bool, another: bool) -> str:
    """What the page says after a cancellation: of the booking, another class, several."""
    if rest:
        return "classes-cancelled"
    return "class-cancelled" if another else "cancelled"


@router.get(MANAGE + "/reschedule")
async def reschedule_page(
    request: Request,
    clients: WebClientsDep,
    slug: str,
    booking_id: str,
    token: str | None = None,
    tz: str | None = None,
    start_from: Annotated[str | None, Query(alias="from")] = None,
    day: str | None = None,
    month: str | None = None,
) -> Response:
    provider = await load_provider(clients, slug)
    if token is not None:
        return await landing(request, clients, provider, booking_id, token)
    booking, _ = await held_booking(request, clients, provider, booking_id)
    service = service_of(provider, booking)
    if service is None or booking.status != "confirmed":
        raise NotFound("this booking cannot be moved")
    return await render_picker(
        clients,
        provider,
        service,
        tz=tz or booking.customer.timezone,
        start_from=day or start_from,
        month=month,
        reschedule=booking,
    )


@router.post(MANAGE + "/reschedule")
async def reschedule(
    request: Request,
    clients: WebClientsDep,
    slug: str,
    booking_id: str,
    tz: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
) -> Response:
    provider = await load_provider(clients, slug)
    booking, held = await held_booking(request, clients, provider, booking_id)
    service = service_of(provider, booking)
    if service is None or booking.status != "confirmed":
        raise NotFound("this booking cannot be moved")
    instant = parse_instant(start)
    if instant is None:
        message, status_code = "Please pick a new time.", 422
    else:
        try:
            await clients.bookings.reschedule_booking(booking.id, held, instant)
        except SlotUnavailable:
            message, status_code = "Sorry, that time was just taken. Please pick another one.", 409
        except CHANGE_REFUSED as exc:
            return render_manage(provider, booking, tz=tz, message=exc.detail, status_code=409)
        except InvalidInput as exc:
            message = f"That time cannot be booked: {exc.detail}. Please pick another one."
            status_code = 422
        else:
            return redirect(
                manage_token.manage_path(provider.slug, booking.id)
                + views.query(tz=tz or None, done="rescheduled")
            )
    return await render_picker(
        clients,
        provider,
        service,
        tz=tz or booking.customer.timezone,
        start_from=None,
        reschedule=booking,
        message=message,
        status_code=status_code,
    )
