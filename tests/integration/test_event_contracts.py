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
    "booking.requested",
    "booking.confirmed",
    "booking.declined",
    "booking.expired",
    "hold.placed",
    "hold.released",
    "waitlist.joined",
    "waitlist.offered",
    "waitlist.claimed",
    "waitlist.expired",
    "waitlist.left",
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

    asked = {**simple, "name": "Asked", "requires_confirmation": True}
    r = await client.post(f"{base}/services", json=asked, headers=admin_headers)
    assert r.status_code == 201, r.text
    requests = []
    for hours in (0, 2, 4):
        r = await client.post(
            "/api/v1/bookings",
            json={
                "service_id": r.json()["id"] if hours == 0 else requests[0]["service_id"],
                "start": (start + timedelta(days=1, hours=hours)).isoformat(),
                "customer": {"name": "Ada", "email": "ada@example.com"},
            },
        )
        assert r.status_code == 201 and r.json()["status"] == "pending", r.text
        requests.append(r.json())
    for request, action in zip(requests[:2], ("confirm", "decline"), strict=True):
        r = await client.post(f"/api/v1/bookings/{request['id']}/{action}", headers=admin_headers)
        assert r.status_code == 200, r.text
    with psycopg.connect(database_url) as conn:  # the third request's time runs out
        conn.execute(
            "UPDATE bookings.bookings SET expires_at = now() - interval '1 minute' WHERE id = %s",
            (requests[2]["id"],),
        )
    r = await client.post(f"/api/v1/bookings/{requests[2]['id']}/confirm", headers=admin_headers)
    assert r.status_code == 409, r.text
    hold_start = (start + timedelta(days=2)).isoformat()
    r = await client.post("/api/v1/holds", json={"service_id": service["id"], "start": hold_start})
    assert r.status_code == 201, r.text
    assert (await client.delete(f"/api/v1/holds/{r.json()['id']}")).status_code == 204

    talk_start = (start + timedelta(days=4)).isoformat()
    talk = {"name": "Talk", "kind": "event", "duration_minutes": 60, "capacity": 1}
    r = await client.post(
        f"{base}/services", json={**talk, "starts_at": talk_start}, headers=admin_headers
    )
    assert r.status_code == 201, r.text
    talk_id = r.json()["id"]
    r = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": talk_id,
            "start": talk_start,
            "customer": {"name": "A", "email": "a@example.com"},
        },
    )
    assert r.status_code == 201, r.text
    seated = r.json()
    entries = []
    for who in ("b", "c", "d"):
        joined = await client.post(
            "/api/v1/waitlist",
            json={
                "service_id": talk_id,
                "start": talk_start,
                "customer": {"name": who, "email": f"{who}@example.com"},
            },
        )
        assert joined.status_code == 201, joined.text
        entries.append(joined.json())
    r = await client.post(f"/api/v1/bookings/{seated['id']}/cancel", headers=admin_headers)
    assert r.status_code == 200, r.text
    with psycopg.connect(database_url) as conn:  # the first offer's time runs out
        conn.execute(
            "UPDATE bookings.holds SET expires_at = now() - interval '1 minute'"
            " WHERE id = (SELECT hold_id FROM bookings.waitlist_entries WHERE id = %s)",
            (entries[0]["id"],),
        )
        conn.execute(
            "UPDATE bookings.waitlist_entries SET offer_expires_at = now() - interval '1 minute'"
            " WHERE id = %s",
            (entries[0]["id"],),
        )
    late, claim, leave = (
        ({"X-Waitlist-Token": e["token"]}, f"/api/v1/waitlist/{e['id']}") for e in entries
    )
    assert (await client.post(f"{late[1]}/claim", headers=late[0])).status_code == 409
    assert (await client.post(f"{claim[1]}/claim", headers=claim[0])).status_code == 201
    assert (await client.post(f"{leave[1]}/leave", headers=leave[0])).status_code == 200

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
    requested = booking_events.BOOKING_REQUESTED.parse(
        next(e for e in written if e.type == "booking.requested")
    )
    assert requested.status == "pending" and requested.expires_at is not None
    assert requested.provider_slug == provider["slug"] and requested.manage_token_sealed
    expired = booking_events.BOOKING_EXPIRED.parse(
        next(e for e in written if e.type == "booking.expired")
    )
    assert expired.status == "expired" and expired.actor == "system"
    offered = [
        booking_events.WAITLIST_OFFERED.parse(e) for e in written if e.type == "waitlist.offered"
    ]
    assert [o.entry_id for o in offered] == [uuid.UUID(e["id"]) for e in entries[:2]]
    assert all(o.claim_token_sealed and o.offer_expires_at for o in offered)
    assert offered[0].provider_slug == provider["slug"]


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
