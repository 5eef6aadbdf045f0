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

from calisera.core.ical import booking_ics

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


def sender_address(public_url: str) -> str:
    host = urlsplit(public_url).hostname or ""
    if "." not in host or host.replace(".", "").isdigit():
        host = "calisera.localhost"
    return f"no-reply@{host}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(
    template: str, payload: dict[str, Any], public_url: str, manage_token: str | None = None
) -> Rendered:
    """Subject, plain text and HTML of one message, in the reader's time zone.

    The customer's e-mail links to the manage page with the booking's token when it is
    known (see the module docstring); without it the page asks for the e-mail's link.
    """
    customer = payload.get("customer") or {}
    provider_zone = _zone(payload.get("provider_timezone")) or ZoneInfo("UTC")
    zone = provider_zone
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
    }
    subjects = {
        "created": f"Booking confirmed: {service_name} with {provider_name}, {when}",
        "rescheduled": f"Booking moved: {service_name} with {provider_name}, now {when}",
        "cancelled": f"Booking cancelled: {service_name} with {provider_name}, {when}",
        "reminder": f"Reminder: {service_name} with {provider_name}, {when}",
    }
    subject = subjects[kind]
    if template == "provider":
        label = {"created": "New booking", "rescheduled": "Booking moved"}.get(
            kind, "Booking cancelled"
        )
        subject = f"{label}: {context['customer_name']}, {service_name}, {when}"
    return Rendered(
        subject=subject,
        text=_templates.get_template(f"{template}.txt.j2").render(context),
        html=_templates.get_template(f"{template}.html.j2").render(context),
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
    if kind == "reminder":
        return None
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    ics = booking_ics(
        uid=f"{payload['booking_id']}@calisera",
        sequence=int(payload.get("aggregate_version") or 0),
        start=datetime.fromisoformat(payload["start"]),
        end=datetime.fromisoformat(payload["end"]),
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
