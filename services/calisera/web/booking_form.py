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
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from calisera.core.errors import FieldError
from calisera.web.clients import Question

FIELDS = ("name", "email", "phone", "notes", "seats", "weeks", "skip_full")
_NONCE = re.compile(r"^[0-9a-f]{32}$")
MAX_WEEKS = 52
"""The longest series the form offers (the bookings service's limit)."""
ANSWER_PREFIX = "q-"
"""Form fields of the service's questions are ``q-<question id>``."""


def answer_field(question: Question) -> str:
    return f"{ANSWER_PREFIX}{question.id}"


def posted_answers(
    questions: Sequence[Question], form: Mapping[str, Sequence[str]]
) -> tuple[dict[str, Any], dict[str, str | list[str]]]:
    """The ``answers`` of the request (by question id) from the posted form (every value
    of each field), and what to show in the fields again. A checkbox not ticked is
    ``false``; an empty text or no choice is left out (the bookings service then says
    whether it was required)."""
    answers: dict[str, Any] = {}
    shown: dict[str, str | list[str]] = {}
    for q in questions:
        name = answer_field(q)
        posted = [v.strip() for v in form.get(name, ())]
        if q.kind == "multiple_choice":
            chosen = [v for v in posted if v]
            shown[name] = chosen
            if chosen:
                answers[str(q.id)] = chosen
        elif q.kind == "checkbox":
            ticked = bool(posted and posted[0])
            shown[name] = "on" if ticked else ""
            answers[str(q.id)] = ticked
        else:
            value = posted[0] if posted else ""
            shown[name] = value
            if value:
                answers[str(q.id)] = value
    return answers, shown


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
    weeks: str = "1"
    """A class: book this many weeks of it from the chosen occurrence (a series)."""
    skip_full: str = ""
    """A series: book around full weeks instead of booking nothing."""

    def values(self) -> dict[str, str]:
        """What to put back into the fields when the form is shown again."""
        return {f: getattr(self, f) for f in FIELDS}

    @property
    def seat_count(self) -> int:
        return int(self.seats) if self.seats.strip().isdigit() else 0

    @property
    def week_count(self) -> int:
        return int(self.weeks) if self.weeks.strip().isdigit() else 0

    @property
    def is_series(self) -> bool:
        return self.week_count > 1

    def missing(self) -> dict[str, str]:
        """Fields the customer must fill before asking the bookings service."""
        errors: dict[str, str] = {}
        if not self.name.strip():
            errors["name"] = "Please enter your name."
        if not self.email.strip():
            errors["email"] = "Please enter your e-mail address."
        if self.seat_count < 1:
            errors["seats"] = "Please choose how many seats."
        if not 1 <= self.week_count <= MAX_WEEKS:
            errors["weeks"] = f"Please choose between 1 and {MAX_WEEKS} weeks."
        return errors

    def request_body(
        self,
        service_id: uuid.UUID,
        start: datetime,
        zone: str,
        answers: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``POST /api/v1/bookings`` body (``/series`` for several weeks of a class); the
        customer's zone goes with it for e-mails."""
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
        if answers:
            body["answers"] = answers
        if self.is_series:  # POST /api/v1/bookings/series
            body["weeks"] = self.week_count
            body["mode"] = "skip_unavailable" if self.skip_full else "all_or_nothing"
        return body

    def idempotency_key(self, body: dict[str, Any]) -> str:
        """One key per form render *and* content: a double submit of the same form books
        once; the same form sent again with other details (back button, edit, submit) is a
        new request rather than a clash with the first one's key."""
        nonce = self.nonce if _NONCE.match(self.nonce) else new_nonce()
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        return f"web-{nonce}-{digest}"


def form_errors(
    errors: list[FieldError], questions: Sequence[Question] = ()
) -> tuple[dict[str, str], bool]:
    """The bookings service's field errors by form field (``customer.email`` -> ``email``,
    ``answers.<id>`` -> ``q-<id>``), and whether some error concerns something else (the
    time, the request itself, or a question the form does not show)."""
    known = set(FIELDS) | {answer_field(q) for q in questions}
    by_field = {
        e.field.removeprefix("customer.").replace("answers.", ANSWER_PREFIX, 1): e.message
        for e in errors
    }
    mine = {k: v for k, v in by_field.items() if k in known}
    return mine, len(mine) < len(by_field)
