"""The real path: a booking made through the API reaches a webhook receiver and a CalDAV
calendar through the bookings outbox, the relay, and a ``calisera worker integrations``
subprocess on the embedded broker."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.integration.integrations.receiver import Receiver
from tests.peers.radicale_server import PASSWORD, USER, Radicale

BERLIN = ZoneInfo("Europe/Berlin")


async def _eventually(predicate, within: float = 60.0, what: str = ""):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(180)
async def test_booking_reaches_webhook_and_calendar_through_the_pipeline(
    client, provider, make_pipeline, receiver: Receiver, radicale: Radicale
):
    from caldav.davclient import DAVClient

    base = f"/api/v1/integrations/providers/{provider.id}"
    endpoint = await client.post(
        f"{base}/webhooks",
        json={"url": receiver.url, "event_types": ["booking.created", "booking.cancelled"]},
        headers=provider.headers,
    )
    assert endpoint.status_code == 201, endpoint.text
    receiver.secret = endpoint.json()["secret"]
    url = radicale.make_calendar()
    connected = await client.put(
        f"{base}/caldav",
        json={"url": url, "username": USER, "password": PASSWORD},
        headers=provider.headers,
    )
    assert connected.json()["status"] == "synced", connected.text

    pipeline = make_pipeline("embedded")
    pipeline.start_worker("integrations")
    pipeline.start_relay()
    start = (datetime.now(BERLIN) + timedelta(days=3)).replace(
        hour=11, minute=0, second=0, microsecond=0
    )
    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": provider.service_id,
            "start": start.isoformat(),
            "customer": {"name": "Ana Lima", "email": "ana@example.com"},
        },
    )
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    try:
        await _eventually(lambda: receiver.received, what="the signed webhook")
        calendar = DAVClient(url=url, username=USER, password=PASSWORD).calendar(url=url)
        await _eventually(lambda: calendar.events(), what="the event in Radicale")
        cancel = await client.post(
            f"/api/v1/bookings/{booking['id']}/cancel",
            json={},
            headers={"X-Manage-Token": booking["manage_token"]},
        )
        assert cancel.status_code == 200
        await _eventually(lambda: len(receiver.received) >= 2, what="the cancellation webhook")
        await _eventually(lambda: calendar.events() == [], what="the event removed")
    except AssertionError:
        print(pipeline.logs())
        raise
    assert all(r.verified for r in receiver.received)
    assert [r.body["type"] for r in receiver.received] == ["booking.created", "booking.cancelled"]
