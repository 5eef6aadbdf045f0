"""Producer side of the event contract: what the services write to their outboxes, for
every event type of ``shared/API.md``, validates against the model of its ``events.py``.

The events are made through the public APIs (no hand-built payloads), read back from
both outboxes and parsed with the :class:`EventType` of their type; the consumers'
side (each consumer handles a payload built from the model) is tested beside each
consumer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from calisera.bookings import events as booking_events
from calisera.core.events import EventEnvelope, EventType, MalformedEvent, UnsupportedEventVersion
from calisera.providers import events as provider_events

CONTRACT: dict[str, EventType] = {  # type: ignore[type-arg]
    t.name: t
    for module in (booking_events, provider_events)
    for t in vars(module).values()
    if isinstance(t, EventType)
}
EXPECTED_TYPES = {
    "provider.created",
    "provider.updated",
    "provider.deleted",
    "service.created",
    "service.updated",
    "service.archived",
    "availability.updated",
    "booking.created",
    "booking.cancelled",
    "booking.rescheduled",
    "booking.completed",
    "booking.no_show",
}


def _outbox(database_url: str) -> list[EventEnvelope]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT envelope FROM providers.outbox UNION ALL SELECT envelope FROM bookings.outbox"
        ).fetchall()
    return [EventEnvelope.model_validate(r[0]) for r in rows]


def _shift_to_past(database_url: str, booking_id: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE bookings.bookings SET start_at = start_at - interval '30 days',"
            " end_at = end_at - interval '30 days' WHERE id = %s",
            (booking_id,),
        )


def test_the_contract_declares_every_event_type_of_the_api() -> None:
    assert set(CONTRACT) == EXPECTED_TYPES


async def test_every_event_the_services_write_parses_with_its_model(
    client, admin_headers, database_url
) -> None:
    r = await client.post(
        "/api/v1/providers",
        json={
            "slug": f"contract-{uuid.uuid4().hex[:8]}",
            "name": "Contract Studio",
            "timezone": "Europe/Berlin",
            "owner_email": "owner@example.com",
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    provider = r.json()
    base = f"/api/v1/providers/{provider['id']}"
    week = [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)]
    r = await client.put(f"{base}/availability", json={"weekly": week}, headers=admin_headers)
    assert r.status_code == 200, r.text
    r = await client.patch(base, json={"bio": "Yoga and more"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    simple = {"name": "Session", "kind": "simple", "duration_minutes": 60, "min_notice_minutes": 0}
    r = await client.post(f"{base}/services", json=simple, headers=admin_headers)
    assert r.status_code == 201, r.text
    service = r.json()
    r = await client.patch(
        f"{base}/services/{service['id']}", json={"description": "One hour"}, headers=admin_headers
    )
    assert r.status_code == 200, r.text

    start = (
        (datetime.now(UTC) + timedelta(days=3))
        .astimezone()
        .replace(hour=10, minute=0, second=0, microsecond=0)
    )
    bookings = []
    for hours in (0, 2, 4):
        r = await client.post(
            "/api/v1/bookings",
            json={
                "service_id": service["id"],
                "start": (start + timedelta(hours=hours)).isoformat(),
                "customer": {"name": "Ada", "email": "ada@example.com", "phone": "+4930123456"},
            },
        )
        assert r.status_code == 201, r.text
        bookings.append(r.json())
    first, second, third = bookings
    r = await client.post(
        f"/api/v1/bookings/{first['id']}/reschedule",
        json={"start": (start + timedelta(hours=6)).isoformat()},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/bookings/{first['id']}/cancel", json={"reason": "ill"}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    for booking, action in ((second, "complete"), (third, "no-show")):
        _shift_to_past(database_url, booking["id"])
        r = await client.post(f"/api/v1/bookings/{booking['id']}/{action}", headers=admin_headers)
        assert r.status_code == 200, r.text

    r = await client.delete(f"{base}/services/{service['id']}", headers=admin_headers)
    assert r.status_code == 200, r.text
    r = await client.delete(base, headers=admin_headers)
    assert r.status_code in (200, 204), r.text

    written = _outbox(database_url)
    assert {e.type for e in written} == EXPECTED_TYPES
    for envelope in written:
        data = CONTRACT[envelope.type].parse(envelope)
        assert set(type(data).model_fields) <= set(envelope.data), envelope.type
    rescheduled = next(e for e in written if e.type == "booking.rescheduled")
    moved = booking_events.BOOKING_RESCHEDULED.parse(rescheduled)
    assert moved.previous_start is not None and moved.previous_start < moved.start
    created = booking_events.BOOKING_CREATED.parse(
        next(e for e in written if e.type == "booking.created")
    )
    assert created.provider_slug == provider["slug"] and created.manage_token_sealed


def test_an_unknown_major_version_is_refused_as_permanent() -> None:
    envelope = EventEnvelope(
        type="booking.created",
        version=2,
        source="bookings",
        aggregate_id=uuid.uuid4(),
        aggregate_version=1,
        data={},
    )
    with pytest.raises(UnsupportedEventVersion):
        booking_events.BOOKING_CREATED.parse(envelope)
    with pytest.raises(MalformedEvent):
        booking_events.BOOKING_CREATED.parse(envelope.model_copy(update={"version": 1}))
