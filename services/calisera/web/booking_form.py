"""The booking form: what the customer typed, the checks made before calling the
bookings service, the request it becomes, and its answer's field errors mapped back.

No I/O and no FastAPI: the route in :mod:`calisera.web.booking_pages` parses the form into
:class:`BookingForm` and renders what this module decides.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from calisera.core.errors import FieldError

FIELDS = ("name", "email", "phone", "notes", "seats")
_NONCE = re.compile(r"^[0-9a-f]{32}$")


def new_nonce() -> str:
    """A fresh value for the hidden ``nonce`` field of every rendered form."""
    return secrets.token_hex(16)


class BookingForm(BaseModel):
    """The posted fields, as typed (strings; a missing field is empty)."""

    start: str = ""
    tz: str = ""
    nonce: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    notes: str = ""
    seats: str = "1"

    def values(self) -> dict[str, str]:
        """What to put back into the fields when the form is shown again."""
        return {f: getattr(self, f) for f in FIELDS}

    @property
    def seat_count(self) -> int:
        return int(self.seats) if self.seats.strip().isdigit() else 0

    def missing(self) -> dict[str, str]:
        """Fields the customer must fill before asking the bookings service."""
        errors: dict[str, str] = {}
        if not self.name.strip():
            errors["name"] = "Please enter your name."
        if not self.email.strip():
            errors["email"] = "Please enter your e-mail address."
        if self.seat_count < 1:
            errors["seats"] = "Please choose how many seats."
        return errors

    def request_body(self, service_id: uuid.UUID, start: datetime, zone: str) -> dict[str, Any]:
        """``POST /api/v1/bookings`` body; the customer's zone goes with it for e-mails."""
        customer: dict[str, Any] = {
            "name": self.name.strip(),
            "email": self.email.strip(),
            "timezone": zone,
        }
        if self.phone.strip():
            customer["phone"] = self.phone.strip()
        body: dict[str, Any] = {
            "service_id": str(service_id),
            "start": start.isoformat(),
            "seats": self.seat_count,
            "customer": customer,
        }
        if self.notes.strip():
            body["notes"] = self.notes.strip()
        return body

    def idempotency_key(self, body: dict[str, Any]) -> str:
        """One key per form render *and* content: a double submit of the same form books
        once; the same form sent again with other details (back button, edit, submit) is a
        new request rather than a clash with the first one's key."""
        nonce = self.nonce if _NONCE.match(self.nonce) else new_nonce()
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        return f"web-{nonce}-{digest}"


def form_errors(errors: list[FieldError]) -> tuple[dict[str, str], bool]:
    """The bookings service's field errors by form field (``customer.email`` -> ``email``),
    and whether some error concerns something else (the time, or the request itself)."""
    by_field = {e.field.removeprefix("customer."): e.message for e in errors}
    mine = {k: v for k, v in by_field.items() if k in FIELDS}
    return mine, len(mine) < len(by_field)
