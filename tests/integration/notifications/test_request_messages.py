"""What people are told about a request (services that require confirmation): the
customer at each step, the provider with a signed confirm/decline link. Real consumer,
real PostgreSQL, real SMTP server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from calisera.bookings.decision_links import valid_decision_token
from tests.conftest import ADMIN_TOKEN
from tests.integration.notifications.test_messages import handle, worker  # noqa: F401
from tests.integration.pipeline.conftest import booking_event, provider_created, query


def _plain(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def _calendars(mail) -> list[object]:
    return [p for p in mail.walk() if p.get_content_type() == "text/calendar"]


async def _known_provider(ctx, provider_id: uuid.UUID) -> None:
    await handle(
        ctx,
        provider_created(provider_id, slug="studio-request"),
    )


def _request(booking_id: uuid.UUID, provider_id: uuid.UUID, type_: str, version: int, status: str):
    expires = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    return booking_event(
        type_,
        booking_id=booking_id,
        provider_id=provider_id,
        version=version,
        extra={"status": status, "expires_at": expires if status == "pending" else None},
    )


async def test_request_then_confirmation_tells_both_and_only_the_confirmation_invites(
    worker,  # noqa: F811
    database_url,
):
    ctx, mailbox = worker
    provider_id, booking_id = uuid.uuid4(), uuid.uuid4()
    await _known_provider(ctx, provider_id)
    await handle(ctx, _request(booking_id, provider_id, "booking.requested", 1, "pending"))
    [received] = mailbox.to("ana@example.test")
    assert str(received["Subject"]).strip().startswith("Request received")
    assert "will confirm it by" in _plain(received)
    assert _calendars(received) == []
    [ask] = mailbox.to("owner@example.com")
    assert str(ask["Subject"]).strip().startswith("Please confirm: Ana Lima")
    [link] = [w for w in _plain(ask).split() if "/decision?" in w]
    parts = urlsplit(link)
    assert parts.path == f"/api/v1/bookings/{booking_id}/decision"
    [token] = parse_qs(parts.query)["token"]
    assert valid_decision_token(ADMIN_TOKEN, booking_id, token)
    assert not valid_decision_token(ADMIN_TOKEN, uuid.uuid4(), token)
    stored = query(database_url, "SELECT payload::text FROM notifications.messages")
    assert stored and all(token not in r[0] for r in stored)  # made at send time, never kept

    await handle(ctx, _request(booking_id, provider_id, "booking.confirmed", 2, "confirmed"))
    _, confirmed = mailbox.to("ana@example.test")
    assert str(confirmed["Subject"]).strip().startswith("Booking confirmed")
    [ics] = _calendars(confirmed)
    assert "METHOD:REQUEST" in ics.get_payload(decode=True).decode()  # type: ignore[attr-defined]
    reminders = query(
        database_url,
        "SELECT booking_version FROM notifications.reminders WHERE status = 'scheduled'",
    )
    assert reminders and {r[0] for r in reminders} == {2}


@pytest.mark.parametrize(
    ("type_", "status", "words"),
    [
        ("booking.declined", "declined", "could not accept your request"),
        ("booking.expired", "expired", "did not answer your request in time"),
        ("booking.cancelled", "cancelled", "has been cancelled"),
    ],
)
async def test_a_request_that_ends_unbooked_is_told_without_an_invitation(
    worker,  # noqa: F811
    database_url,
    type_,
    status,
    words,
):
    ctx, mailbox = worker
    provider_id, booking_id = uuid.uuid4(), uuid.uuid4()
    await _known_provider(ctx, provider_id)
    await handle(ctx, _request(booking_id, provider_id, "booking.requested", 1, "pending"))
    await handle(ctx, _request(booking_id, provider_id, type_, 2, status))
    _, ended = mailbox.to("ana@example.test")
    assert words in _plain(ended)
    assert "Change or cancel" not in _plain(ended)
    if type_ != "booking.cancelled":
        assert _calendars(ended) == []
    assert query(
        database_url, "SELECT count(*) FROM notifications.reminders WHERE status = 'scheduled'"
    ) == [(0,)]
