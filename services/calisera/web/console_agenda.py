"""Console: the agenda (today, upcoming, past), one booking's detail and what a provider
does with it (complete, no-show, cancel with a reason, reschedule), and booking for a
client who called or walked in."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from calisera.core.dependencies import SessionDep
from calisera.core.errors import Conflict, InvalidInput
from calisera.web import views
from calisera.web.clients import Answer
from calisera.web.console_session import (
    ApiDep,
    ConsoleApi,
    claim_nonce,
    console_router,
    field_errors,
    new_nonce,
    parse_id,
    render,
)
from calisera.web.pages import WebClientsDep, parse_date, redirect

router = console_router()
VIEWS = {"today": "Today", "upcoming": "Upcoming", "past": "Past"}
HORIZON = timedelta(days=60)
SLOT_DAYS = 7
STATUS_TEXT = {
    "pending": "Awaiting your confirmation",
    "declined": "Declined",
    "expired": "Expired (not answered in time)",
    "confirmed": "Confirmed",
    "cancelled": "Cancelled",
    "completed": "Completed",
    "no_show": "No-show",
}


def _window(view: str, zone: str, now: datetime) -> tuple[datetime, datetime]:
    tz = zoneinfo.ZoneInfo(zone)
    midnight = datetime.combine(now.astimezone(tz).date(), time(), tz)
    if view == "today":
        return midnight, midnight + timedelta(days=1)
    if view == "past":
        return now - HORIZON, now
    return now, now + HORIZON


def _moment(value: str | None, zone: str) -> str | None:
    """``Tuesday, 1 December 2026, 09:30 (New York)``."""
    if not value:
        return None
    at = datetime.fromisoformat(value)
    day = views.day_text(views.local(at, zone).date())
    return f"{day}, {views.time_text(at, zone)} ({views.zone_label(zone)})"


def _shown(booking: dict[str, Any], zone: str) -> dict[str, Any]:
    start = datetime.fromisoformat(booking["start"])
    end = datetime.fromisoformat(booking["end"])
    local = views.local(start, zone)
    return {
        **booking,
        "day": views.day_text(local.date()),
        "time": views.time_text(start, zone),
        "when": views.when_text(start, end, zone),
        "status_text": STATUS_TEXT.get(booking["status"], booking["status"]),
        "expires_text": _moment(booking.get("expires_at"), zone),
        "answers": [Answer.model_validate(a) for a in booking.get("answers") or []],
    }


@router.get("/console/agenda")
async def agenda(api: ApiDep, view: str = "today") -> Response:
    provider = await api.my_provider()
    view = view if view in VIEWS else "today"
    start, end = _window(view, provider["timezone"], datetime.now(UTC))
    page = await _bookings(api, provider["id"], start, end)
    items = sorted(page, key=lambda b: b["start"], reverse=view == "past")
    days: dict[str, list[dict[str, Any]]] = {}
    for booking in items:
        shown = _shown(booking, provider["timezone"])
        days.setdefault(shown["day"], []).append(shown)
    return render(
        "console/agenda.html",
        title=VIEWS[view],
        nav="agenda",
        provider=provider,
        view=view,
        views=VIEWS,
        days=days,
    )


async def _bookings(
    api: ConsoleApi, provider_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """``GET /api/v1/providers/{id}/bookings`` (served by the bookings service)."""
    params = {"from": start.isoformat(), "to": end.isoformat(), "limit": 200}
    response = await api.call("GET", "providers", f"/{provider_id}/bookings", params=params)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _booking(api: ConsoleApi, booking_id: str) -> dict[str, Any]:
    booking: dict[str, Any] = await api.get("bookings", f"/{parse_id(booking_id)}")
    return booking


@router.get("/console/bookings/new")
async def new_booking(
    api: ApiDep, clients: WebClientsDep, service_id: str = "", day: str = ""
) -> Response:
    provider = await api.my_provider()
    return await _booking_form(api, clients, provider, service_id, day, {}, {})


async def _booking_form(
    api: ConsoleApi,
    clients: WebClientsDep,
    provider: dict[str, Any],
    service_id: str,
    day: str,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    services = [
        s
        for s in (await api.get("providers", f"/{provider['id']}/services", limit=200))["items"]
        if s["active"]
    ]
    chosen = next((s for s in services if s["id"] == service_id), services[0] if services else None)
    zone = provider["timezone"]
    first = parse_date(day) or views.today_in(zone, datetime.now(UTC))
    slots: list[dict[str, str]] = []
    if chosen is not None:
        free = await clients.listing.availability(
            uuid.UUID(chosen["id"]), first, first + timedelta(days=SLOT_DAYS - 1), zone
        )
        slots = [
            {"start": s.start.isoformat(), "text": views.when_text(s.start, s.end, zone)}
            for s in free.slots
        ]
    return render(
        "console/booking_new.html",
        title="Book for a client",
        nav="agenda",
        provider=provider,
        services=services,
        chosen=chosen,
        day=first.isoformat(),
        slots=slots,
        values=values,
        errors=errors,
        nonce=new_nonce(),
        status_code=422 if errors else 200,
    )


@router.post("/console/bookings/new")
async def book_for_client(
    request: Request, api: ApiDep, clients: WebClientsDep, session: SessionDep
) -> Response:
    provider = await api.my_provider()
    form = {k: str(v) for k, v in (await request.form()).items()}
    nonce = form.get("nonce", "")
    if not await claim_nonce(session, nonce):
        return redirect("/console/agenda?view=upcoming")
    customer = {k: form.get(f"customer.{k}", "").strip() for k in ("name", "email", "phone")}
    body: dict[str, Any] = {
        "service_id": form.get("service_id", ""),
        "start": form.get("start", ""),
        "customer": {k: v for k, v in customer.items() if v},
    }
    if form.get("notes", "").strip():
        body["notes"] = form["notes"].strip()
    errors: dict[str, str] = {}
    if not body["start"]:
        errors["start"] = "Pick a time."
    else:
        try:
            booking = await api.send("POST", "bookings", "", body, idempotency_key=nonce)
        except (InvalidInput, Conflict) as exc:
            errors = field_errors(exc)
        else:
            return redirect(f"/console/bookings/{booking['id']}")
    return await _booking_form(
        api, clients, provider, form.get("service_id", ""), form.get("day", ""), form, errors
    )


@router.get("/console/bookings/{booking_id}")
async def booking_detail(api: ApiDep, clients: WebClientsDep, booking_id: str) -> Response:
    provider = await api.my_provider()
    booking = await _booking(api, booking_id)
    return await _detail(api, clients, provider, booking, {})


async def _waitlist(
    api: ConsoleApi, provider_id: str, booking: dict[str, Any], zone: str
) -> list[dict[str, Any]]:
    """Who waits for the booking's occurrence (events and classes), in line:
    ``GET /api/v1/providers/{id}/waitlist`` (served by the bookings service)."""
    if booking.get("service_kind") == "simple":
        return []
    params = {
        "service_id": booking["service_id"],
        "start": booking["start"],
        "status": ["waiting", "offered"],
        "limit": 50,
    }
    response = await api.call("GET", "providers", f"/{provider_id}/waitlist", params=params)
    return [
        {**entry, "offer_text": _moment(entry.get("offer_expires_at"), zone)}
        for entry in response.json()["items"]
    ]


async def _series(api: ConsoleApi, booking: dict[str, Any], zone: str) -> list[dict[str, Any]]:
    """The classes of the booking's series by start (``GET /api/v1/bookings/{id}/series``),
    each with its time in the provider's zone; none for a booking of no series."""
    if not booking.get("series_id"):
        return []
    series = await api.get("bookings", f"/{booking['id']}/series")
    return [_shown(b, zone) for b in series["bookings"]]


async def _detail(
    api: ConsoleApi,
    clients: WebClientsDep,
    provider: dict[str, Any],
    booking: dict[str, Any],
    errors: dict[str, str],
    day: date | None = None,
) -> Response:
    zone = provider["timezone"]
    history = await api.get("bookings", f"/{booking['id']}/history")
    waitlist = await _waitlist(api, provider["id"], booking, zone)
    series = await _series(api, booking, zone)
    slots: list[dict[str, str]] = []
    first = day or views.today_in(zone, datetime.now(UTC))
    if booking["status"] == "confirmed":
        free = await clients.listing.availability(
            uuid.UUID(booking["service_id"]), first, first + timedelta(days=SLOT_DAYS - 1), zone
        )
        slots = [
            {"start": s.start.isoformat(), "text": views.when_text(s.start, s.end, zone)}
            for s in free.slots
        ]
    return render(
        "console/booking.html",
        title=f"Booking of {booking['customer']['name']}",
        nav="agenda",
        provider=provider,
        booking=_shown(booking, zone),
        history=history["items"] if isinstance(history, dict) and "items" in history else [],
        slots=slots,
        waitlist=waitlist,
        series=series,
        rest=[b for b in series if b["status"] == "confirmed" and b["start"] >= booking["start"]],
        day=first.isoformat(),
        errors=errors,
        status_code=422 if errors else 200,
    )


async def _act(
    api: ConsoleApi,
    clients: WebClientsDep,
    booking_id: str,
    action: str,
    body: dict[str, Any],
) -> Response:
    """Confirm, decline, complete, no-show, cancel or reschedule; a repeat of a done
    action is harmless."""
    provider = await api.my_provider()
    booking = await _booking(api, booking_id)
    try:
        await api.send("POST", "bookings", f"/{booking['id']}/{action}", body)
    except (InvalidInput, Conflict) as exc:
        return await _detail(api, clients, provider, booking, field_errors(exc))
    return redirect(f"/console/bookings/{booking['id']}")


@router.post("/console/bookings/{booking_id}/complete")
async def complete(api: ApiDep, clients: WebClientsDep, booking_id: str) -> Response:
    return await _act(api, clients, booking_id, "complete", {})


@router.post("/console/bookings/{booking_id}/no-show")
async def no_show(api: ApiDep, clients: WebClientsDep, booking_id: str) -> Response:
    return await _act(api, clients, booking_id, "no-show", {})


@router.post("/console/bookings/{booking_id}/confirm")
async def confirm(api: ApiDep, clients: WebClientsDep, booking_id: str) -> Response:
    return await _act(api, clients, booking_id, "confirm", {})


@router.post("/console/bookings/{booking_id}/decline")
async def decline(
    api: ApiDep, clients: WebClientsDep, booking_id: str, reason: Annotated[str, Form()] = ""
) -> Response:
    body = {"reason": reason.strip()} if reason.strip() else {}
    return await _act(api, clients, booking_id, "decline", body)


@router.post("/console/bookings/{booking_id}/cancel")
async def cancel(
    api: ApiDep,
    clients: WebClientsDep,
    booking_id: str,
    reason: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "",
) -> Response:
    """Cancel the booking; ``scope=rest``: with every later class of its series."""
    body: dict[str, Any] = {"reason": reason.strip()} if reason.strip() else {}
    if scope == "rest":
        body["scope"] = "rest"
    return await _act(api, clients, booking_id, "cancel", body)


@router.post("/console/bookings/{booking_id}/reschedule")
async def reschedule(
    api: ApiDep, clients: WebClientsDep, booking_id: str, start: Annotated[str, Form()] = ""
) -> Response:
    if not start:
        provider = await api.my_provider()
        booking = await _booking(api, booking_id)
        return await _detail(api, clients, provider, booking, {"start": "Pick a new time."})
    return await _act(api, clients, booking_id, "reschedule", {"start": start})
