"""The waitlist on the booking page: full occurrences offer "Join the waitlist", and the
offer e-mail's claim link leads to a page that books the held seats.

Flow: the picker of an event or class lists the month's full occurrences
(:func:`full_times`) → ``/p/{slug}/s/{id}/waitlist?start=`` (form) → ``POST`` → 303 to
the entry's page ``/p/{slug}/waitlist/{entry_id}``, its token kept in a cookie scoped to
that page (the manage cookie's rules, :mod:`calisera.web.manage_token`). The entry's
page shows the place in line (and a button to leave); once seats are offered, the
service's questions and a button that claims them → 303 to the new booking's manage
page. The offer e-mail links to the entry's page with ``?token=``, which lands like a
manage link.

Which occurrences are full: the listing offers only times with seats left, so the page
takes the service's scheduled occurrences (the scheduling engine's own
:func:`calisera.scheduling.recurrence.occurrences`) that the listing did not offer, and
asks the listing's ``explain`` about at most :data:`FULL_LOOKUPS` of them: only those
whose reason is ``full`` are shown (a time refused for another reason cannot be waited
for). The bookings service checks it again when the customer joins.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from calisera.bookings.client import (
    AlreadyWaiting,
    LimitReached,
    OfferExpired,
    SeatsAvailable,
    SlotUnavailable,
)
from calisera.core.errors import InvalidInput, NotFound
from calisera.scheduling.model import Recurrence, ServiceDefinition, ServiceKind
from calisera.scheduling.recurrence import occurrences
from calisera.web import manage_token, views
from calisera.web.booking_form import (
    BookingForm,
    answer_field,
    form_errors,
    new_nonce,
    posted_answers,
)
from calisera.web.clients import PublicProvider, PublicService, WaitlistEntry
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

FULL_LOOKUPS = 6
"""At most this many not-offered occurrences of the shown month are asked about."""

ENTRY = "/p/{slug}/waitlist/{entry_id}"


@dataclass(frozen=True)
class FullTime:
    start: datetime
    iso: str
    text: str


def _definition(service: PublicService) -> ServiceDefinition | None:
    """The engine's view of an event or class, from the public profile."""
    try:
        recurrence = None
        if service.kind == "class" and service.recurrence:
            r = service.recurrence
            recurrence = Recurrence(
                rrule=str(r["rrule"]),
                start_time=time.fromisoformat(str(r["start_time"])),
                starts_on=date.fromisoformat(str(r["starts_on"])),
                until=date.fromisoformat(str(r["until"])) if r.get("until") else None,
                exdates=tuple(date.fromisoformat(str(d)) for d in r.get("exdates") or ()),
            )
        return ServiceDefinition(
            id=service.id,
            kind=ServiceKind(service.kind),
            duration_minutes=service.duration_minutes,
            capacity=service.capacity,
            starts_at=service.starts_at,
            recurrence=recurrence,
        )
    except (KeyError, TypeError, ValueError):
        return None


async def full_times(
    clients: WebClients,
    provider: PublicProvider,
    service: PublicService,
    first: date,
    last: date,
    offered: set[datetime],
    zone: str,
) -> list[FullTime]:
    """The full occurrences of ``[first, last]`` (dates in ``zone``) one could wait for."""
    if service.kind not in ("event", "class"):
        return []
    definition = _definition(service)
    if definition is None:
        return []
    now = datetime.now(UTC)
    starts = occurrences(
        definition, provider.timezone, first - timedelta(days=1), last + timedelta(days=1)
    )
    candidates = [
        s
        for s in starts
        if s > now
        and s not in offered
        and first <= views.local(s, zone).date() <= last
        and s <= now + timedelta(days=service.booking_window_days)
    ][:FULL_LOOKUPS]
    answers = await asyncio.gather(*(clients.listing.explain(service.id, s) for s in candidates))
    return [
        FullTime(
            start=s,
            iso=s.isoformat(),
            text=f"{views.day_text(views.local(s, zone).date())}, {views.time_text(s, zone)}",
        )
        for s, a in zip(candidates, answers, strict=True)
        if a.reason == "full"
    ]


# --- joining ------------------------------------------------------------------------


def render_join(
    provider: PublicProvider,
    service: PublicService,
    *,
    start: datetime,
    tz: str | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    zone = views.customer_zone(tz, provider.timezone)
    end = start + timedelta(minutes=service.duration_minutes)
    return views.render(
        "waitlist_join.html",
        status_code=status_code,
        **page_context(
            provider,
            zone,
            service=service,
            start_iso=start.isoformat(),
            when=views.when_text(start, end, zone),
            tz=tz,
            values={"name": "", "email": "", "phone": "", "seats": "1"} | (values or {}),
            errors=errors or {},
            message=message,
            max_seats=max(1, min(service.capacity, 10)),
        ),
    )


@router.get("/p/{slug}/s/{service_id}/waitlist")
async def join_form(
    clients: WebClientsDep,
    slug: str,
    service_id: str,
    start: str | None = None,
    tz: str | None = None,
) -> Response:
    provider = await load_provider(clients, slug)
    service = provider.service(parse_uuid(service_id))
    instant = parse_instant(start)
    if instant is None or service.kind == "simple":
        return redirect(f"/p/{provider.slug}/s/{service.id}{views.query(tz=tz)}")
    return render_join(provider, service, start=instant, tz=tz)


@router.post("/p/{slug}/s/{service_id}/waitlist")
async def join(
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
        return redirect(f"/p/{provider.slug}/s/{service.id}{views.query(tz=form.tz)}")
    values = form.values()
    missing = form.missing()
    if missing:
        return render_join(
            provider,
            service,
            start=instant,
            tz=form.tz,
            values=values,
            errors=missing,
            status_code=422,
        )
    body = form.request_body(service.id, instant, zone)
    body.pop("notes", None)
    try:
        entry = await clients.bookings.join_waitlist(body)
    except SeatsAvailable:
        return redirect(
            f"/p/{provider.slug}/s/{service.id}/book"
            + views.query(start=instant.isoformat(), tz=zone)
        )
    except (AlreadyWaiting, SlotUnavailable) as exc:
        return render_join(
            provider,
            service,
            start=instant,
            tz=form.tz,
            values=values,
            message=exc.detail,
            status_code=409,
        )
    except InvalidInput as exc:
        errors, about_something_else = form_errors(exc.errors)
        return render_join(
            provider,
            service,
            start=instant,
            tz=form.tz,
            values=values,
            errors=errors,
            message=exc.detail if about_something_else or not errors else None,
            status_code=422,
        )
    path = entry_path(provider.slug, entry.id)
    response = redirect(path + views.query(tz=zone, joined=1))
    if entry.token:
        manage_token.remember(response, request, path=path, token=entry.token)
    return response


# --- the entry: place in line, the offer, the claim ------------------------------------


def entry_path(slug: str, entry_id: object) -> str:
    return f"/p/{slug}/waitlist/{entry_id}"


async def _held_entry(
    request: Request, clients: WebClients, provider: PublicProvider, entry_id: str
) -> tuple[WaitlistEntry, str]:
    held = manage_token.token_of(request)
    if not held:
        raise NotFound("no waitlist token")
    entry = await clients.bookings.get_waitlist_entry(parse_uuid(entry_id), held)
    if entry.provider_id != provider.id:
        raise NotFound("not an entry of this provider")
    return entry, held


def render_entry(
    provider: PublicProvider,
    entry: WaitlistEntry,
    *,
    tz: str | None,
    joined: bool = False,
    answers: dict[str, str | list[str]] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    zone = views.customer_zone(tz or entry.customer.timezone, provider.timezone)
    service = next((s for s in provider.services if s.id == entry.service_id), None)
    deadline = entry.offer_expires_at
    return views.render(
        "waitlist_entry.html",
        status_code=status_code,
        **page_context(
            provider,
            zone,
            entry=entry,
            service_name=entry.service_name or (service.name if service else "Waitlist"),
            when=views.when_text(entry.start, entry.end, zone),
            deadline=(
                f"{views.day_text(views.local(deadline, zone).date())}, "
                f"{views.time_text(deadline, zone)}"
                if deadline
                else None
            ),
            joined=joined,
            questions=service.questions if service else [],
            answer_field=answer_field,
            answers=answers or {},
            errors=errors or {},
            message=message,
            nonce=new_nonce(),
            path=entry_path(provider.slug, entry.id),
            tz=zone,
        ),
    )


@router.get(ENTRY)
async def entry_page(
    request: Request,
    clients: WebClientsDep,
    slug: str,
    entry_id: str,
    token: str | None = None,
    tz: str | None = None,
    joined: str | None = None,
) -> Response:
    provider = await load_provider(clients, slug)
    if token is not None:  # the offer e-mail's link: verify, keep in the cookie, drop
        entry = await clients.bookings.get_waitlist_entry(parse_uuid(entry_id), token)
        if entry.provider_id != provider.id:
            raise NotFound("not an entry of this provider")
        return manage_token.land(request, path=entry_path(provider.slug, entry.id), token=token)
    entry, _ = await _held_entry(request, clients, provider, entry_id)
    return render_entry(provider, entry, tz=tz, joined=joined == "1")


@router.post(ENTRY + "/claim")
async def claim(
    request: Request,
    clients: WebClientsDep,
    slug: str,
    entry_id: str,
    tz: Annotated[str, Form()] = "",
    nonce: Annotated[str, Form()] = "",
) -> Response:
    provider = await load_provider(clients, slug)
    entry, held = await _held_entry(request, clients, provider, entry_id)
    service = next((s for s in provider.services if s.id == entry.service_id), None)
    posted = await request.form()
    answers, shown = posted_answers(
        service.questions if service else [],
        {k: [str(v) for v in posted.getlist(k)] for k in posted},
    )
    body: dict[str, Any] = {"answers": answers} if answers else {}
    try:
        booking = await clients.bookings.claim_offer(
            entry.id,
            held,
            body,
            # one key per rendered form and content, as a booking form's: a double
            # submit claims once
            idempotency_key=BookingForm(nonce=nonce).idempotency_key(
                {"claim": str(entry.id), **body}
            ),
        )
    except (OfferExpired, SlotUnavailable, LimitReached) as exc:
        entry = await clients.bookings.get_waitlist_entry(entry.id, held)
        return render_entry(provider, entry, tz=tz, message=exc.detail, status_code=409)
    except InvalidInput as exc:
        errors, _ = form_errors(exc.errors, service.questions if service else [])
        return render_entry(
            provider,
            entry,
            tz=tz,
            answers=shown,
            errors=errors,
            message=exc.detail if not errors else None,
            status_code=422,
        )
    path = manage_token.manage_path(provider.slug, booking.id)
    response = redirect(path + views.query(tz=tz or None, booked=1))
    if booking.manage_token:
        manage_token.remember(response, request, path=path, token=booking.manage_token)
    return response


@router.post(ENTRY + "/leave")
async def leave(
    request: Request,
    clients: WebClientsDep,
    slug: str,
    entry_id: str,
    tz: Annotated[str, Form()] = "",
) -> Response:
    provider = await load_provider(clients, slug)
    entry, held = await _held_entry(request, clients, provider, entry_id)
    entry = await clients.bookings.leave_waitlist(entry.id, held)
    return render_entry(provider, entry, tz=tz)
