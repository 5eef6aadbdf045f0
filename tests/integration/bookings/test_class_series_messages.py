"""What people are told about a class series: one confirmation listing every week (with
one calendar file holding every occurrence), a reminder before each week, one message
when the rest is cancelled. The series is booked through the app; its real outbox
events go through the real notifications consumer to a real SMTP server."""

from __future__ import annotations

from typing import Any

from calisera.core.events import EventEnvelope
from tests.integration.notifications.test_messages import handle, worker  # noqa: F401
from tests.integration.pipeline.conftest import query, smtp  # noqa: F401

from .test_class_series import WEEK, _series, _weekly_class


async def _deliver_outboxes(ctx: Any, database_url: str, seen: set[str]) -> None:
    """Hand every event not yet handled, providers' first, to the notifications consumer."""
    for schema in ("providers", "bookings"):
        rows = query(
            database_url, f"SELECT id::text, envelope FROM {schema}.outbox ORDER BY occurred_at"
        )
        for event_id, envelope in rows:
            if event_id not in seen:
                seen.add(event_id)
                await handle(ctx, EventEnvelope.model_validate(envelope))


def _plain(mail: Any) -> str:
    return str(mail.get_body(("plain",)).get_content())


def _ics(mail: Any) -> str:
    [part] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    return str(part.get_payload(decode=True).decode())


async def test_one_confirmation_lists_the_weeks_and_cancelling_the_rest_is_one_message(
    client,
    schedules,
    worker,  # noqa: F811
    database_url,
):
    ctx, mailbox = worker
    config, first = await _weekly_class(schedules)
    created = await client.post("/api/v1/bookings/series", json=_series(config, first))
    assert created.status_code == 201, created.text
    series = created.json()
    seen: set[str] = set()
    await _deliver_outboxes(ctx, database_url, seen)

    [confirmation] = mailbox.to("grace@example.com")
    assert str(confirmation["Subject"]).strip().endswith("and 3 more")
    text = _plain(confirmation)
    assert "4 classes" in text
    for week in range(4):
        assert (first + week * WEEK).strftime("%-d %B %Y") in text
    calendar = _ics(confirmation)
    assert calendar.count("BEGIN:VEVENT") == 4
    for booking in series["bookings"]:
        assert f"UID:{booking['id']}@calisera" in calendar
    [to_owner] = mailbox.to("owner@example.com")
    assert "4 classes" in _plain(to_owner)
    # a reminder is planned before every week, not only the first
    planned = query(
        database_url,
        "SELECT count(DISTINCT booking_id) FROM notifications.reminders WHERE status = 'scheduled'",
    )
    assert planned == [(4,)]

    second = series["bookings"][1]["id"]
    r = await client.post(
        f"/api/v1/bookings/{second}/cancel",
        json={"scope": "rest"},
        headers={"X-Manage-Token": series["manage_token"]},
    )
    assert r.status_code == 200, r.text
    await _deliver_outboxes(ctx, database_url, seen)
    messages = mailbox.to("grace@example.com")
    assert len(messages) == 2
    cancelled = messages[1]
    assert str(cancelled["Subject"]).strip().startswith("Booking cancelled")
    assert "3 classes" in _plain(cancelled)
    cancel_ics = _ics(cancelled)
    assert cancel_ics.count("BEGIN:VEVENT") == 3
    assert "METHOD:CANCEL" in cancel_ics
    assert series["bookings"][0]["id"] not in cancel_ics
    left = query(
        database_url,
        "SELECT count(DISTINCT booking_id) FROM notifications.reminders WHERE status = 'scheduled'",
    )
    assert left == [(1,)]
