"""The service form of the console: what a person types, as the providers API's body,
and a service as the form's values.

Form fields are named after the API's fields (``duration_minutes``, ``location.address``,
``recurrence.rrule``), so a problem's ``errors[].field`` lands next to the field that
caused it. Only numbers and local times are read here (the API cannot read "ten"); every
rule about what a valid service is stays with the providers service.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from calisera.web import question_form

KINDS = {
    "simple": "Appointment (one customer at a time, any free time)",
    "event": "Event (one date, several seats)",
    "class": "Class (repeats on a schedule, several seats)",
}

NUMBERS = (
    "duration_minutes",
    "capacity",
    "min_notice_minutes",
    "booking_window_days",
    "max_bookings_per_day",
    "max_bookings_per_week",
    "max_open_bookings_per_customer",
    "min_gap_minutes_per_customer",
    "cancellation_notice_minutes",
    "reschedule_notice_minutes",
)
CLEARABLE = frozenset(
    {
        "max_bookings_per_day",
        "max_bookings_per_week",
        "max_open_bookings_per_customer",
        "min_gap_minutes_per_customer",
        "reschedule_notice_minutes",
        "slot_interval_minutes",
    }
)
"""Numbers whose empty field means "none" (``null`` on edit), not the API's default."""
SIMPLE_NUMBERS = ("slot_interval_minutes", "buffer_before_minutes", "buffer_after_minutes")
TEXTS = ("name", "description", "price_text")
LOCATION_DETAIL = {"in_person": "address", "online": "url", "phone": "phone"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_VARIANT = re.compile(r"^location\.(?:in_person|online|phone)\.")


class FormErrors(Exception):
    """Input the console cannot turn into a request (shown like the API's own errors)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def api_field(field: str, form: Mapping[str, str]) -> str:
    """The form field an API error names (``location.online.url`` -> ``location.url``,
    ``questions[k]`` -> the row it came from)."""
    return question_form.form_field(_VARIANT.sub("location.", field), form)


def to_body(form: Mapping[str, str], kind: str, timezone: str, *, creating: bool) -> dict[str, Any]:
    """The JSON body of ``POST``/``PATCH .../services``. A cleared optional field is
    ``null`` on edit (the API clears it) and left out on create (the API's default)."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"kind": kind} if creating else {}
    for name in TEXTS:
        value = form.get(name, "").strip()
        if value:
            body[name] = value
        elif not creating and name != "name":
            body[name] = None
    numbers = NUMBERS + (SIMPLE_NUMBERS if kind == "simple" else ())
    for name in numbers:
        raw = form.get(name, "").strip()
        if not raw:
            if not creating and name in CLEARABLE:
                body[name] = None
            continue
        try:
            body[name] = int(raw)
        except ValueError:
            errors[name] = "must be a whole number"
    body["location"] = _location(form)
    if creating and body["location"] is None:
        del body["location"]
    if kind == "event":
        body["starts_at"] = _local_to_aware(form.get("starts_at", ""), timezone, errors)
    if kind == "class":
        body["recurrence"] = _recurrence(form, errors)
    questions = question_form.to_questions(form)
    # on edit an empty list removes the last question; a form without the rows (not
    # this console's) leaves the questions as they are
    if questions or (not creating and question_form.has_rows(form)):
        body["questions"] = questions
    if errors:
        raise FormErrors(errors)
    return body


def _location(form: Mapping[str, str]) -> dict[str, str] | None:
    kind = form.get("location.type", "")
    if kind not in LOCATION_DETAIL:
        return None
    detail = LOCATION_DETAIL[kind]
    value = form.get(f"location.{detail}", "").strip()
    if kind == "phone" and not value:
        return {"type": kind}
    return {"type": kind, detail: value}


def _local_to_aware(value: str, timezone: str, errors: dict[str, str]) -> str | None:
    """``2027-03-29T18:00`` typed in the provider's zone -> RFC 3339 with its offset."""
    if not value.strip():
        errors["starts_at"] = "Enter the date and time of the event."
        return None
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:
        errors["starts_at"] = "must be a date and time, e.g. 2027-03-29T18:00"
        return None
    return local.replace(tzinfo=zoneinfo.ZoneInfo(timezone)).isoformat()


def _recurrence(form: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    exdates = [d.strip() for d in form.get("recurrence.exdates", "").split(",") if d.strip()]
    bad = [d for d in exdates if not _DATE.match(d)]
    if bad:
        errors["recurrence.exdates"] = f"not a date (YYYY-MM-DD): {', '.join(bad)}"
    recurrence: dict[str, Any] = {
        "rrule": form.get("recurrence.rrule", "").strip(),
        "start_time": form.get("recurrence.start_time", "").strip(),
        "starts_on": form.get("recurrence.starts_on", "").strip(),
        "exdates": exdates,
    }
    until = form.get("recurrence.until", "").strip()
    if until:
        recurrence["until"] = until
    return recurrence


def to_values(service: Mapping[str, Any], timezone: str) -> dict[str, str]:
    """A service (``ServiceOut``) as the form's values."""
    values = {name: "" if service.get(name) is None else str(service[name]) for name in TEXTS}
    for name in NUMBERS + SIMPLE_NUMBERS:
        values[name] = "" if service.get(name) is None else str(service[name])
    location = service.get("location") or {}
    values["location.type"] = location.get("type", "")
    for detail in LOCATION_DETAIL.values():
        values[f"location.{detail}"] = location.get(detail) or ""
    if service.get("starts_at"):
        when = datetime.fromisoformat(service["starts_at"]).astimezone(zoneinfo.ZoneInfo(timezone))
        values["starts_at"] = when.strftime("%Y-%m-%dT%H:%M")
    recurrence = service.get("recurrence") or {}
    for key in ("rrule", "start_time", "starts_on", "until"):
        value = recurrence.get(key) or ""
        values[f"recurrence.{key}"] = value[:5] if key == "start_time" else value
    values["recurrence.exdates"] = ", ".join(recurrence.get("exdates") or [])
    return values | question_form.to_values(service.get("questions") or [])


def defaults(kind: str) -> dict[str, str]:
    values = {"duration_minutes": "60", "min_notice_minutes": "60", "booking_window_days": "60"}
    values["capacity"] = "1" if kind == "simple" else "10"
    if kind == "class":
        values["recurrence.rrule"] = "FREQ=WEEKLY;BYDAY=TU,TH"
        values["recurrence.start_time"] = "18:00"
    return values | question_form.blank_rows(0)
