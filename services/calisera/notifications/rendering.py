"""What a message says: subject, text and HTML from the templates, in the reader's time
zone, and the .ics that goes with a booking e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from calisera.core.ical import CalendarEntry, booking_ics, booking_uid
from calisera.notifications import integration_alerts, waitlist_offers

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    keep_trailing_newline=True,
)


def templates() -> jinja2.Environment:
    return _templates


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _when(value: str | None, zone: ZoneInfo) -> str | None:
    if not value:
        return None
    local = datetime.fromisoformat(value).astimezone(zone)
    return local.strftime("%A %-d %B %Y, %H:%M")


def answer_text(value: Any) -> str:
    """One answer to a booking question as a person reads it."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def answer_lines(answers: Any) -> list[tuple[str, str]]:
    """(question, answer) pairs of a booking event's ``answers`` (none in older events)."""
    return [
        (str(a.get("label") or ""), answer_text(a.get("value")))
        for a in answers or []
        if isinstance(a, dict)
    ]


def sender_address(public_url: str) -> str:
    host = urlsplit(public_url).hostname or ""
    if "." not in host or host.replace(".", "").isdigit():
        host = "calisera.localhost"
    return f"no-reply@{host}"


PROVIDER_LABELS = {
    "created": "New booking",
    "rescheduled": "Booking moved",
    "requested": "Please confirm",
    "confirmed": "Request confirmed",
    "declined": "Request declined",
    "expired": "Request expired",
}

CALENDAR_KINDS = frozenset({"created", "confirmed", "rescheduled", "cancelled"})
"""The messages with an .ics; the others (reminders, requests not yet agreed, declined or
expired ones, messages about integrations) send no invitation."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(
    template: str,
    payload: dict[str, Any],
    public_url: str,
    manage_token: str | None = None,
    decision_token: str | None = None,
    claim_url: str | None = None,
) -> Rendered:
    """Subject, plain text and HTML of one message, in the reader's time zone.

    The customer's e-mail links to the manage page with the booking's token when it is
    known (see the module docstring); without it the page asks for the e-mail's link.
    The provider's e-mail about a request links to the confirm/decline page with
    ``decision_token`` (:mod:`calisera.bookings.decision_links`). A waitlist offer links
    to ``claim_url`` (:mod:`calisera.notifications.waitlist_offers`).
    """
    if template == integration_alerts.TEMPLATE:
        ctx = integration_alerts.context(payload, public_url)
        return Rendered(
            subject=integration_alerts.subject(payload),
            text=_templates.get_template(f"{template}.txt.j2").render(ctx),
            html=_templates.get_template(f"{template}.html.j2").render(ctx),
        )
    customer = payload.get("customer") or {}
    provider_zone = _zone(payload.get("provider_timezone")) or ZoneInfo("UTC")
    zone = provider_zone
    if template == waitlist_offers.TEMPLATE:
        return _render_offer(payload, _zone(customer.get("timezone")) or zone, claim_url)
    if template == "customer":
        zone = _zone(customer.get("timezone")) or provider_zone
    kind = payload["kind"]
    slug = payload.get("provider_slug") or payload.get("provider_id")
    base = public_url.rstrip("/")
    provider_name = payload.get("provider_name") or "your provider"
    service_name = payload.get("service_name") or "Appointment"
    when = _when(payload.get("start"), zone) or ""
    context = {
        "kind": kind,
        "customer_name": customer.get("name") or "there",
        "customer_email": customer.get("email"),
        "customer_phone": customer.get("phone"),
        "provider_name": provider_name,
        "service_name": service_name,
        "seats": payload.get("seats") or 1,
        "when": when,
        "previous_when": _when(payload.get("previous_start"), zone),
        "timezone": zone.key,
        "reason": payload.get("reason"),
        "manage_url": f"{base}/p/{slug}/manage/{payload.get('booking_id')}"
        + (f"?{urlencode({'token': manage_token})}" if manage_token else ""),
        "page_url": f"{base}/p/{slug}",
        "when_relative": _relative(payload.get("offset_minutes")),
        "decision_url": f"{base}/api/v1/bookings/{payload.get('booking_id')}/decision?"
        + urlencode({"token": decision_token})
        if decision_token
        else None,
        "expires_when": _when(payload.get("expires_at"), zone),
        "answers": answer_lines(payload.get("answers")),
        "series_whens": series_whens(payload, zone),
    }
    subjects = {
        "created": f"Booking confirmed: {service_name} with {provider_name}, {when}",
        "rescheduled": f"Booking moved: {service_name} with {provider_name}, now {when}",
        "cancelled": f"Booking cancelled: {service_name} with {provider_name}, {when}",
        "reminder": f"Reminder: {service_name} with {provider_name}, {when}",
        "requested": f"Request received: {service_name} with {provider_name}, {when}",
        "confirmed": f"Booking confirmed: {service_name} with {provider_name}, {when}",
        "declined": f"Request declined: {service_name} with {provider_name}, {when}",
        "expired": f"Request expired: {service_name} with {provider_name}, {when}",
    }
    subject = subjects[kind]
    if len(context["series_whens"]) > 1 and kind in SERIES_KINDS:
        subject = f"{subject} and {len(context['series_whens']) - 1} more"
    if template == "provider":
        label = PROVIDER_LABELS.get(kind, "Booking cancelled")
        subject = f"{label}: {context['customer_name']}, {service_name}, {when}"
    return Rendered(
        subject=subject,
        text=_templates.get_template(f"{template}.txt.j2").render(context),
        html=_templates.get_template(f"{template}.html.j2").render(context),
    )


SERIES_KINDS = frozenset({"created", "cancelled"})
"""The messages that speak for several bookings of a class series at once."""


def _series_members(payload: dict[str, Any]) -> list[dict[str, Any]]:
    if payload.get("kind") not in SERIES_KINDS:
        return []
    series = payload.get("series") or {}
    members = series.get("members") if isinstance(series, dict) else None
    return [m for m in members or [] if isinstance(m, dict)]


def series_whens(payload: dict[str, Any], zone: ZoneInfo) -> list[str]:
    """When each booking of a class series the message speaks for takes place."""
    return [w for m in _series_members(payload) if (w := _when(m.get("start"), zone))]


def _render_offer(payload: dict[str, Any], zone: ZoneInfo, claim_url: str | None) -> Rendered:
    customer = payload.get("customer") or {}
    provider_name = payload.get("provider_name") or "your provider"
    service_name = payload.get("service_name") or "Appointment"
    when = _when(payload.get("start"), zone) or ""
    context = {
        "customer_name": customer.get("name") or "there",
        "provider_name": provider_name,
        "service_name": service_name,
        "seats": payload.get("seats") or 1,
        "when": when,
        "timezone": zone.key,
        "expires_when": _when(payload.get("offer_expires_at"), zone) or "soon",
        "claim_url": claim_url or "",
        "kind": payload.get("kind") or "waitlist_offered",
        "position": payload.get("position"),
        "page_url": claim_url.split("/waitlist/", 1)[0] if claim_url else "",
    }
    name = waitlist_offers.TEMPLATE
    subjects = {
        "waitlist_joined": f"On the waitlist: {service_name} with {provider_name}, {when}",
        "waitlist_expired": f"Your held place has gone: {service_name} with {provider_name}, "
        f"{when}",
    }
    return Rendered(
        subject=subjects.get(
            str(context["kind"]), f"A place for you: {service_name} with {provider_name}, {when}"
        ),
        text=_templates.get_template(f"{name}.txt.j2").render(context),
        html=_templates.get_template(f"{name}.html.j2").render(context),
    )


def _relative(offset: int | None) -> str:
    if not offset:
        return "soon"
    if offset % (24 * 60) == 0:
        days = offset // (24 * 60)
        return "tomorrow" if days == 1 else f"in {days} days"
    if offset % 60 == 0:
        hours = offset // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {offset} minutes"


def calendar_file(payload: dict[str, Any], attendee: str | None) -> tuple[bytes, str] | None:
    """The .ics of a booking message: REQUEST (SEQUENCE = booking version) or CANCEL."""
    kind = payload["kind"]
    if kind not in CALENDAR_KINDS:
        return None  # reminders, requests and messages about integrations carry no invitation
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    members = _series_members(payload) or [
        {
            "booking_id": payload["booking_id"],
            "version": payload.get("aggregate_version") or 0,
            "start": payload["start"],
            "end": payload["end"],
        }
    ]
    first, *others = [
        CalendarEntry(
            uid=booking_uid(m["booking_id"]),
            sequence=int(m.get("version") or 0),
            start=datetime.fromisoformat(str(m["start"])),
            end=datetime.fromisoformat(str(m["end"])),
        )
        for m in members
    ]
    ics = booking_ics(
        uid=first.uid,
        sequence=first.sequence,
        start=first.start,
        end=first.end,
        also=others,
        summary=f"{payload.get('service_name') or 'Appointment'} with "
        f"{payload.get('provider_name') or 'your provider'}",
        description=None,
        location=payload.get("location"),
        organizer_email=None,
        organizer_name=payload.get("provider_name"),
        attendee_email=attendee,
        attendee_name=(payload.get("customer") or {}).get("name"),
        method=method,  # type: ignore[arg-type]
        status="CANCELLED" if kind == "cancelled" else "CONFIRMED",
    )
    return ics, method


def sms_text(payload: dict[str, Any], public_url: str) -> str:
    r = render("customer", payload, public_url)
    return r.subject
