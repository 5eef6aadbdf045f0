"""The real path: a booking made through the bookings API reaches the customer's inbox.

Providers and bookings services (in-process app), their real outboxes, the relay, a
real ``calisera worker notifications`` subprocess on the embedded broker, real SMTP.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.pipeline.conftest import query


async def _eventually(predicate, within: float = 40.0, what: str = ""):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(120)
async def test_booking_made_through_the_api_emails_customer_and_owner(
    client, admin_headers, make_pipeline, smtp
):
    mailbox, smtp_url = smtp
    slug = f"aurora-{uuid.uuid4().hex[:6]}"
    provider = await client.post(
        "/api/v1/providers",
        json={
            "slug": slug,
            "name": "Studio Aurora",
            "timezone": "Europe/Berlin",
            "owner_email": "owner@example.com",
        },
        headers=admin_headers,
    )
    assert provider.status_code == 201, provider.text
    provider_id = provider.json()["id"]
    service = await client.post(
        f"/api/v1/providers/{provider_id}/services",
        json={"name": "Haircut", "kind": "simple", "duration_minutes": 30},
        headers=admin_headers,
    )
    assert service.status_code == 201, service.text
    availability = await client.put(
        f"/api/v1/providers/{provider_id}/availability",
        json={"weekly": [{"weekday": d, "start": "00:00", "end": "23:30"} for d in range(7)]},
        headers=admin_headers,
    )
    assert availability.status_code == 200, availability.text

    pipeline = make_pipeline("embedded", smtp_url=smtp_url)
    pipeline.start_worker()
    pipeline.start_relay()
    # let the provider event reach notifications first (slug and owner for the messages)
    db = pipeline.settings.database_url
    await _eventually(
        lambda: query(db, "SELECT 1 FROM notifications.providers WHERE slug = %s", slug),
        what="the provider read model",
    )

    start = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    booking = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": service.json()["id"],
            "start": start.isoformat(),
            "customer": {"name": "Ana Lima", "email": "ana@example.com", "timezone": "UTC"},
        },
    )
    assert booking.status_code == 201, booking.text
    booking_id = booking.json()["id"]
    manage_token = booking.json()["manage_token"]

    [mail] = await _eventually(lambda: mailbox.to("ana@example.com"), what="customer e-mail")
    text = mail.get_body(("plain",)).get_content()
    assert f"https://book.example.test/p/{slug}/manage/{booking_id}?token={manage_token}" in text
    assert "09:00" in text and "(UTC)" in text
    # The e-mailed link works, and the token exists nowhere at rest in plain text.
    view = await client.get(
        f"/api/v1/bookings/{booking_id}", headers={"X-Manage-Token": manage_token}
    )
    assert view.status_code == 200
    for table, column in (("bookings.outbox", "envelope"), ("notifications.messages", "payload")):
        leaked = query(
            db, f"SELECT 1 FROM {table} WHERE {column}::text LIKE %s", f"%{manage_token}%"
        )
        assert not leaked, f"manage token stored in plain text in {table}"
    [notice] = await _eventually(lambda: mailbox.to("owner@example.com"), what="owner e-mail")
    assert "10:00" in notice.get_body(("plain",)).get_content()  # Berlin, the provider's zone
