"""Booking lifecycle through the HTTP API on real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg

from calisera.core.database import libpq_url

from .conftest import OWNER_EMAIL, booking_body, tomorrow_at


async def test_booking_is_confirmed_with_a_manage_token(client, schedules, book):
    config = await schedules.add_service()
    start = tomorrow_at(10)
    r = await book(
        config,
        start,
        customer={
            "name": "Grace",
            "email": "grace@example.com",
            "phone": "+41 44 668 18 00",
            "timezone": "Europe/Zurich",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "confirmed"
    assert body["provider_id"] == str(config.provider_id)
    assert body["customer"]["phone"] == "+41446681800"
    assert len(body["manage_token"]) >= 40
    assert body["end"].startswith((start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    got = await client.get(
        f"/api/v1/bookings/{body['id']}", headers={"X-Manage-Token": body["manage_token"]}
    )
    assert got.status_code == 200
    assert got.json()["manage_token"] is None


async def test_second_booking_of_same_slot_is_409(schedules, book):
    config = await schedules.add_service()
    assert (await book(config, tomorrow_at(10))).status_code == 201
    r = await book(config, tomorrow_at(10))
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/slot-unavailable")


async def test_booking_inside_anothers_buffer_is_409_and_adjacent_after_buffer_is_fine(
    schedules, book
):
    config = await schedules.add_service(buffer_after_minutes=15, slot_interval_minutes=15)
    assert (await book(config, tomorrow_at(10))).status_code == 201
    assert (await book(config, tomorrow_at(10, 30))).status_code == 409
    assert (await book(config, tomorrow_at(10, 45))).status_code == 201


async def test_other_providers_are_independent(schedules, book):
    a, b = await schedules.add_service(), await schedules.add_service()
    assert (await book(a, tomorrow_at(10))).status_code == 201
    assert (await book(b, tomorrow_at(10))).status_code == 201


async def test_booked_event_blocks_the_providers_one_to_one_time(schedules, book):
    simple = await schedules.add_service()
    event = await schedules.add_service(
        provider_id=simple.provider_id,
        kind="event",
        capacity=10,
        duration_minutes=60,
        starts_at=tomorrow_at(10),
    )
    assert (await book(event, tomorrow_at(10))).status_code == 201
    r = await book(simple, tomorrow_at(10, 30))
    assert r.status_code == 409
    assert r.json()["type"].endswith("/slot-unavailable")


async def test_booking_in_the_past_is_422_naming_start(schedules, book):
    config = await schedules.add_service()
    r = await book(config, tomorrow_at(10, days=-2))
    assert r.status_code == 422
    body = r.json()
    assert body["reason"] == "in_past"
    assert [e["field"] for e in body["errors"]] == ["start"]


async def test_invalid_customer_input_is_422_naming_the_field(client, schedules, book):
    config = await schedules.add_service()
    cases = [
        ({"name": "G", "email": "not-an-email"}, "customer.email"),
        ({"name": "G", "email": "g@example.com", "phone": "044 668 18 00"}, "customer.phone"),
        ({"name": "G", "email": "g@example.com", "timezone": "Mars/Base"}, "customer.timezone"),
    ]
    for customer, field in cases:
        r = await book(config, tomorrow_at(10), customer=customer)
        assert r.status_code == 422, customer
        assert field in [e["field"] for e in r.json()["errors"]]
    r = await book(config, tomorrow_at(10), notes="x" * 2001)
    assert r.status_code == 422
    naive = booking_body(config, tomorrow_at(10))
    naive["start"] = naive["start"].replace("+00:00", "")
    r = await client.post("/api/v1/bookings", json=naive)
    assert r.status_code == 422
    assert "start" in [e["field"] for e in r.json()["errors"]]


async def test_unknown_service_is_404(client, schedules):
    r = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": str(uuid.uuid4()),
            "start": tomorrow_at(10).isoformat(),
            "customer": {"name": "G", "email": "g@example.com"},
        },
    )
    assert r.status_code == 404


async def test_wrong_manage_token_is_404(client, schedules, book):
    booking = (await book(await schedules.add_service(), tomorrow_at(10))).json()
    r = await client.get(f"/api/v1/bookings/{booking['id']}", headers={"X-Manage-Token": "nope"})
    assert r.status_code == 404
    r = await client.get(
        f"/api/v1/bookings/{uuid.uuid4()}", headers={"X-Manage-Token": booking["manage_token"]}
    )
    assert r.status_code == 404


async def test_another_user_sees_404_and_anonymous_401(client, schedules, book, auth_headers):
    booking = (await book(await schedules.add_service(), tomorrow_at(10))).json()
    r = await client.get(
        f"/api/v1/bookings/{booking['id']}", headers=auth_headers("stranger@example.com")
    )
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/bookings/{booking['id']}")).status_code == 401
    r = await client.get(f"/api/v1/bookings/{booking['id']}", headers=auth_headers(OWNER_EMAIL))
    assert r.status_code == 200


async def test_customer_cancels_with_manage_token_and_the_time_is_free_again(
    client, schedules, book
):
    config = await schedules.add_service()
    booking = (await book(config, tomorrow_at(10))).json()
    headers = {"X-Manage-Token": booking["manage_token"]}
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "sick"}, headers=headers
    )
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert r.json()["version"] == 2
    again = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=headers)
    assert again.status_code == 200
    assert again.json()["version"] == 2
    assert (await book(config, tomorrow_at(10))).status_code == 201


async def test_cancelled_occurrence_seats_are_given_back(client, schedules, book):
    event = await schedules.add_service(kind="event", capacity=2, starts_at=tomorrow_at(10))
    first = (await book(event, tomorrow_at(10), seats=2)).json()
    assert (await book(event, tomorrow_at(10))).status_code == 409
    await client.post(
        f"/api/v1/bookings/{first['id']}/cancel",
        headers={"X-Manage-Token": first["manage_token"]},
    )
    assert (await book(event, tomorrow_at(10), seats=2)).status_code == 201


async def test_customer_cannot_change_within_the_cancellation_notice_but_owner_can(
    client, schedules, book, auth_headers
):
    config = await schedules.add_service(cancellation_notice_minutes=48 * 60)
    booking = (await book(config, tomorrow_at(10))).json()
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert r.status_code == 409
    assert r.json()["type"].endswith("/too-late-to-change")
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/reschedule",
        json={"start": tomorrow_at(12).isoformat()},
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert r.json()["type"].endswith("/too-late-to-change")
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        json={"reason": "provider ill"},
        headers=auth_headers(OWNER_EMAIL),
    )
    assert r.status_code == 200


async def _move_to_past(database_url: str, booking_id: str) -> None:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute(
            "UPDATE bookings.bookings SET start_at = start_at - interval '3 days',"
            " end_at = end_at - interval '3 days' WHERE id = %s",
            (booking_id,),
        )


async def test_completing_needs_a_started_confirmed_booking(
    client, schedules, book, admin_headers, database_url
):
    config = await schedules.add_service()
    booking = (await book(config, tomorrow_at(10))).json()
    url = f"/api/v1/bookings/{booking['id']}"
    r = await client.post(f"{url}/complete", headers=admin_headers)
    assert r.status_code == 409
    assert r.json()["type"].endswith("/invalid-transition")
    await _move_to_past(database_url, booking["id"])
    r = await client.post(f"{url}/complete", headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["status"] == "completed"
    r = await client.post(f"{url}/cancel", headers=admin_headers)
    assert r.status_code == 409
    assert r.json()["type"].endswith("/invalid-transition")


async def test_completing_a_cancelled_booking_is_409(client, schedules, book, admin_headers):
    booking = (await book(await schedules.add_service(), tomorrow_at(10))).json()
    url = f"/api/v1/bookings/{booking['id']}"
    await client.post(f"{url}/cancel", headers=admin_headers)
    for action in ("complete", "no-show"):
        r = await client.post(f"{url}/{action}", headers=admin_headers)
        assert r.status_code == 409
        assert r.json()["type"].endswith("/invalid-transition")


async def test_customer_cannot_complete_with_the_manage_token(client, schedules, book):
    booking = (await book(await schedules.add_service(), tomorrow_at(10))).json()
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/no-show",
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert r.status_code == 401


async def test_reschedule_moves_the_booking_and_frees_the_old_time(client, schedules, book):
    config = await schedules.add_service()
    booking = (await book(config, tomorrow_at(10))).json()
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/reschedule",
        json={"start": tomorrow_at(14).isoformat()},
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["start"].startswith(tomorrow_at(14).strftime("%Y-%m-%dT%H:%M"))
    assert r.json()["version"] == 2
    assert (await book(config, tomorrow_at(10))).status_code == 201
    assert (await book(config, tomorrow_at(14))).status_code == 409


async def test_reschedule_onto_a_taken_time_is_409_and_keeps_the_old_time(
    client, schedules, book, admin_headers
):
    config = await schedules.add_service()
    mine = (await book(config, tomorrow_at(10))).json()
    assert (await book(config, tomorrow_at(11))).status_code == 201
    r = await client.post(
        f"/api/v1/bookings/{mine['id']}/reschedule",
        json={"start": tomorrow_at(11).isoformat()},
        headers=admin_headers,
    )
    assert r.status_code == 409
    assert r.json()["type"].endswith("/slot-unavailable")
    assert (await book(config, tomorrow_at(10))).status_code == 409
    got = await client.get(f"/api/v1/bookings/{mine['id']}", headers=admin_headers)
    assert got.json()["version"] == 1


async def test_history_records_who_did_what_and_why(
    client, schedules, book, auth_headers, admin_headers
):
    booking = (await book(await schedules.add_service(), tomorrow_at(10))).json()
    url = f"/api/v1/bookings/{booking['id']}"
    token = {"X-Manage-Token": booking["manage_token"]}
    await client.post(
        f"{url}/reschedule", json={"start": tomorrow_at(12).isoformat()}, headers=token
    )
    await client.post(
        f"{url}/cancel", json={"reason": "double shift"}, headers=auth_headers(OWNER_EMAIL)
    )
    r = await client.get(f"{url}/history", headers=admin_headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["version"], i["action"], i["actor"]) for i in items] == [
        (1, "create", "customer"),
        (2, "reschedule", "customer"),
        (3, "cancel", "owner"),
    ]
    assert items[1]["previous_start"].startswith(tomorrow_at(10).strftime("%Y-%m-%dT%H:%M"))
    assert items[2]["reason"] == "double shift"
    assert (await client.get(f"{url}/history", headers=token)).status_code == 401


async def test_events_are_written_with_the_booking_version(
    client, schedules, book, admin_headers, database_url
):
    config = await schedules.add_service()
    booking = (await book(config, tomorrow_at(10))).json()
    url = f"/api/v1/bookings/{booking['id']}"
    await client.post(
        f"{url}/reschedule", json={"start": tomorrow_at(12).isoformat()}, headers=admin_headers
    )
    await client.post(f"{url}/cancel", json={"reason": "moved away"}, headers=admin_headers)
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT type, aggregate_version, envelope FROM bookings.outbox ORDER BY seq"
        ).fetchall()
    assert [(t, v) for t, v, _ in rows] == [
        ("booking.created", 1),
        ("booking.rescheduled", 2),
        ("booking.cancelled", 3),
    ]
    created, moved, cancelled = (e for _, _, e in rows)
    assert created["source"] == "bookings"
    assert created["provider_id"] == str(config.provider_id)
    data = created["data"]
    assert data["booking_id"] == booking["id"]
    assert data["service_kind"] == "simple"
    assert data["customer"]["email"] == "grace@example.com"
    assert data["provider_timezone"] == "UTC"
    assert moved["data"]["previous_start"].startswith(tomorrow_at(10).strftime("%Y-%m-%dT%H:%M"))
    assert cancelled["data"]["reason"] == "moved away"
    assert cancelled["data"]["actor"] == "admin"


async def test_a_refused_booking_writes_no_event(schedules, book, database_url):
    config = await schedules.add_service()
    assert (await book(config, tomorrow_at(10))).status_code == 201
    assert (await book(config, tomorrow_at(10))).status_code == 409
    with psycopg.connect(libpq_url(database_url)) as conn:
        events = conn.execute("SELECT count(*) FROM bookings.outbox").fetchone()[0]
        booked = conn.execute("SELECT count(*) FROM bookings.bookings").fetchone()[0]
    assert (events, booked) == (1, 1)


async def test_ics_has_a_stable_uid_and_the_version_as_sequence(client, schedules, book):
    booking = (await book(await schedules.add_service(), tomorrow_at(10))).json()
    headers = {"X-Manage-Token": booking["manage_token"]}
    r = await client.get(f"/api/v1/bookings/{booking['id']}/ics", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    text = r.text.replace("\r\n ", "")
    assert f"UID:{booking['id']}@calisera" in text
    assert "SEQUENCE:1" in text
    assert "STATUS:CONFIRMED" in text
    assert f"DTSTART:{tomorrow_at(10).strftime('%Y%m%dT%H%M%S')}Z" in text
    assert "ATTENDEE" in text and "grace@example.com" in text
    assert "ORGANIZER" in text and OWNER_EMAIL in text
    await client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=headers)
    text = (await client.get(f"/api/v1/bookings/{booking['id']}/ics", headers=headers)).text
    assert "SEQUENCE:2" in text
    assert "STATUS:CANCELLED" in text


async def test_provider_lists_its_bookings_page_by_page(client, schedules, book, auth_headers):
    config = await schedules.add_service()
    for hour in (9, 10, 11, 12, 13):
        assert (await book(config, tomorrow_at(hour))).status_code == 201
    owner = auth_headers(OWNER_EMAIL)
    url = f"/api/v1/providers/{config.provider_id}/bookings"
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=params, headers=owner)
        assert r.status_code == 200, r.text
        seen += [b["start"] for b in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == 5
    r = await client.get(
        url,
        params={"from": tomorrow_at(10).isoformat(), "to": tomorrow_at(12).isoformat()},
        headers=owner,
    )
    assert len(r.json()["items"]) == 2
    r = await client.get(url, headers=auth_headers("stranger@example.com"))
    assert r.status_code == 404
    r = await client.get(url, params={"cursor": "garbage!"}, headers=owner)
    assert r.status_code == 422


async def test_busy_time_through_the_bookings_client(app, schedules, book):
    from calisera.bookings.client import BookingsClient

    config = await schedules.add_service(buffer_before_minutes=5)
    await book(config, tomorrow_at(10))
    client = BookingsClient(app.state.platform)
    try:
        busy = await client.busy_time(config.provider_id, tomorrow_at(0), tomorrow_at(0, days=2))
    finally:
        await client.aclose()
    [interval] = busy.busy_intervals()
    assert interval.start == tomorrow_at(10)
    assert interval.buffer_before_minutes == 5
    assert busy.occurrences == []


async def test_busy_time_needs_the_admin_token(client, auth_headers):
    r = await client.get(
        "/internal/v1/bookings/busy",
        params={
            "provider_id": str(uuid.uuid4()),
            "start": tomorrow_at(0).isoformat(),
            "end": tomorrow_at(1).isoformat(),
        },
        headers=auth_headers("someone@example.com"),
    )
    assert r.status_code == 403


async def test_start_off_the_slot_grid_is_422_misaligned(schedules, book):
    config = await schedules.add_service()
    r = await book(config, tomorrow_at(10, 10))
    assert r.status_code == 422
    assert r.json()["reason"] == "misaligned"
    assert r.json()["type"].endswith("/not-bookable")


async def test_event_booked_at_another_time_than_its_start_is_422(schedules, book):
    event = await schedules.add_service(kind="event", capacity=3, starts_at=tomorrow_at(10))
    r = await book(event, tomorrow_at(11))
    assert r.status_code == 422
    assert r.json()["reason"] == "outside_availability"
    r = await book(event, tomorrow_at(10), seats=4)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["seats"]


async def test_busy_time_shows_seats_taken_in_occurrences(app, schedules, book):
    from calisera.bookings.client import BookingsClient

    klass = await schedules.add_service(kind="class", capacity=6, duration_minutes=60)
    assert (await book(klass, tomorrow_at(18), seats=2)).status_code == 201
    assert (await book(klass, tomorrow_at(18), seats=1)).status_code == 201
    client = BookingsClient(app.state.platform)
    try:
        busy = await client.busy_time(klass.provider_id, tomorrow_at(0), tomorrow_at(0, days=2))
    finally:
        await client.aclose()
    [seats] = busy.occurrence_seats()
    assert (seats.start, seats.seats_taken) == (tomorrow_at(18), 3)
    [interval] = busy.busy_intervals()
    assert interval.start == tomorrow_at(18)


async def test_availability_counts_booked_seats(client, schedules, book):
    klass = await schedules.add_service(kind="class", capacity=6, duration_minutes=60)
    assert (await book(klass, tomorrow_at(18), seats=2)).status_code == 201
    day = tomorrow_at(18).date().isoformat()
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": str(klass.service.id), "start": day, "end": day, "timezone": "UTC"},
    )
    assert r.status_code == 200, r.text
    [slot] = r.json()["slots"]
    assert slot["seats_left"] == 4


async def test_control_characters_in_any_text_are_422_naming_the_field(
    client, schedules, book, admin_headers
):
    config = await schedules.add_service()
    cases = {
        "customer.name": {"customer": {"name": "A\u0000B", "email": "grace@example.com"}},
        "customer.email": {"customer": {"name": "Grace", "email": "gr\u0000ace@example.com"}},
        "customer.phone": {
            "customer": {"name": "Grace", "email": "g@example.com", "phone": "+41\u000044"}
        },
        "customer.timezone": {
            "customer": {"name": "Grace", "email": "g@example.com", "timezone": "UTC\u0000"}
        },
        "notes": {"notes": "bring \u0000 shoes"},
    }
    for field, over in cases.items():
        r = await book(config, tomorrow_at(10), **over)
        assert r.status_code == 422, (field, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.text)
    r = await book(config, tomorrow_at(10), notes="line one\nline two\ttabbed")
    assert r.status_code == 201, r.text
    cancel = await client.post(
        f"/api/v1/bookings/{r.json()['id']}/cancel",
        json={"reason": "sorry\u0007"},
        headers=admin_headers,
    )
    assert cancel.status_code == 422
    assert [e["field"] for e in cancel.json()["errors"]] == ["reason"]
