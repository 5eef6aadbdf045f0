"""The booking form's own rules: required fields, the request it becomes, its key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from calisera.core.errors import FieldError
from calisera.web.booking_form import BookingForm, form_errors, new_nonce

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
SERVICE = uuid.uuid4()


def test_name_email_and_seats_are_required() -> None:
    form = BookingForm(name="  ", email="", seats="zero")
    assert form.missing() == {
        "name": "Please enter your name.",
        "email": "Please enter your e-mail address.",
        "seats": "Please choose how many seats.",
    }
    assert BookingForm(name="Ada", email="ada@example.com").missing() == {}


def test_request_body_leaves_out_empty_optional_fields() -> None:
    body = BookingForm(name=" Ada ", email="ada@example.com", seats="2").request_body(
        SERVICE, START, "America/New_York"
    )
    assert body == {
        "service_id": str(SERVICE),
        "start": "2026-12-01T14:00:00+00:00",
        "seats": 2,
        "customer": {"name": "Ada", "email": "ada@example.com", "timezone": "America/New_York"},
    }


def test_same_form_same_content_same_key_other_content_other_key() -> None:
    nonce = new_nonce()
    form = BookingForm(nonce=nonce, name="Ada", email="ada@example.com")
    body = form.request_body(SERVICE, START, "UTC")
    assert form.idempotency_key(body) == form.idempotency_key(dict(body))
    edited = form.model_copy(update={"name": "Ada King"})
    assert edited.idempotency_key(edited.request_body(SERVICE, START, "UTC")) != (
        form.idempotency_key(body)
    )
    assert form.idempotency_key(body).startswith(f"web-{nonce}-")


def test_a_forged_nonce_never_becomes_part_of_the_key() -> None:
    form = BookingForm(nonce="x" * 500, name="Ada", email="ada@example.com")
    body = form.request_body(SERVICE, START, "UTC")
    first, second = form.idempotency_key(body), form.idempotency_key(body)
    assert first != second and "x" not in first.split("-")[1]


def test_service_field_errors_map_to_form_fields() -> None:
    errors, other = form_errors(
        [FieldError("customer.email", "not an e-mail"), FieldError("notes", "too long")]
    )
    assert errors == {"email": "not an e-mail", "notes": "too long"} and not other
    errors, other = form_errors([FieldError("start", "too soon")])
    assert errors == {} and other
