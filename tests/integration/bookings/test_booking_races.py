"""Races the database must win: concurrent requests through the app, each request on
its own pooled connection, checked afterwards with SQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import psycopg

from calisera.core.database import libpq_url

from .conftest import booking_body, tomorrow_at


def _scalar(database_url: str, query: str, *params: object) -> object:
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute(query, params).fetchone()
        assert row is not None
        return row[0]


def _overlapping_confirmed_pairs(database_url: str) -> int:
    count = _scalar(
        database_url,
        """
        SELECT count(*) FROM bookings.bookings a JOIN bookings.bookings b
          ON a.provider_id = b.provider_id AND a.id < b.id
         AND tstzrange(a.start_at, a.end_at) && tstzrange(b.start_at, b.end_at)
         WHERE a.status = 'confirmed' AND b.status = 'confirmed'
           AND a.service_kind = 'simple' AND b.service_kind = 'simple'
        """,
    )
    assert isinstance(count, int)
    return count


async def test_fifty_concurrent_requests_for_one_slot_give_one_booking(
    client, schedules, database_url
):
    config = await schedules.add_service()
    body = booking_body(config, tomorrow_at(10))
    responses = await asyncio.gather(
        *(client.post("/api/v1/bookings", json=body) for _ in range(50))
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 49}
    assert all(
        r.json()["type"].endswith("/slot-unavailable") for r in responses if r.status_code == 409
    )
    assert _scalar(database_url, "SELECT count(*) FROM bookings.bookings") == 1
    assert _scalar(database_url, "SELECT count(*) FROM bookings.outbox") == 1


async def test_twenty_bookers_of_a_five_seat_occurrence_get_exactly_five_seats(
    client, schedules, database_url
):
    config = await schedules.add_service(kind="class", capacity=5, duration_minutes=60)
    body = booking_body(config, tomorrow_at(18))
    responses = await asyncio.gather(
        *(client.post("/api/v1/bookings", json=body) for _ in range(20))
    )
    assert Counter(r.status_code for r in responses) == {201: 5, 409: 15}
    assert _scalar(database_url, "SELECT seats_taken FROM bookings.occurrences") == 5
    assert _scalar(database_url, "SELECT count(*) FROM bookings.busy_blocks") == 1


async def test_two_bookings_rescheduling_to_the_same_slot_one_wins(
    client, schedules, admin_headers, database_url
):
    config = await schedules.add_service()
    ids = []
    for hour in (9, 11):
        r = await client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(hour)))
        ids.append(r.json()["id"])
    target = {"start": tomorrow_at(15).isoformat()}
    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/bookings/{i}/reschedule", json=target, headers=admin_headers)
            for i in ids
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = ids[[r.status_code for r in responses].index(409)]
    assert _overlapping_confirmed_pairs(database_url) == 0
    # the loser kept its old time
    assert (
        _scalar(
            database_url, "SELECT count(*) FROM bookings.busy_blocks WHERE booking_id = %s", loser
        )
        == 1
    )
    assert (
        _scalar(
            database_url,
            "SELECT count(*) FROM bookings.bookings WHERE start_at = %s",
            tomorrow_at(15),
        )
        == 1
    )


async def test_cancel_racing_a_booking_of_the_same_slot_never_double_books(
    client, schedules, database_url
):
    config = await schedules.add_service()
    for round_ in range(5):
        start = tomorrow_at(8 + round_)
        first = (await client.post("/api/v1/bookings", json=booking_body(config, start))).json()
        cancel = client.post(
            f"/api/v1/bookings/{first['id']}/cancel",
            headers={"X-Manage-Token": first["manage_token"]},
        )
        rebook = [
            client.post("/api/v1/bookings", json=booking_body(config, start)) for _ in range(3)
        ]
        results = await asyncio.gather(cancel, *rebook)
        assert results[0].status_code == 200
        assert {r.status_code for r in results[1:]} <= {201, 409}
        assert sum(r.status_code == 201 for r in results[1:]) <= 1
    assert _overlapping_confirmed_pairs(database_url) == 0
    assert (
        _scalar(
            database_url,
            "SELECT count(*) FROM bookings.bookings b WHERE status = 'confirmed' AND NOT EXISTS"
            " (SELECT 1 FROM bookings.busy_blocks k WHERE k.booking_id = b.id)",
        )
        == 0
    )


async def test_an_event_and_a_one_to_one_booking_racing_for_the_same_hour_one_wins(
    client, schedules, database_url
):
    simple = await schedules.add_service(duration_minutes=60)
    event = await schedules.add_service(
        provider_id=simple.provider_id,
        kind="event",
        capacity=10,
        duration_minutes=60,
        starts_at=tomorrow_at(10),
    )
    requests = [
        client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(10)))
        for _ in range(5)
        for config in (simple, event)
    ]
    responses = await asyncio.gather(*requests)
    won = {r.json()["service_kind"] for r in responses if r.status_code == 201}
    assert len(won) == 1  # either the event's seats or the one-to-one slot, never both
    assert _scalar(database_url, "SELECT count(*) FROM bookings.busy_blocks") == 1


def test_database_refuses_overlapping_busy_time_of_any_kind(database_url):
    import uuid

    provider = uuid.uuid4()
    insert = (
        "INSERT INTO bookings.occurrences (id, provider_id, service_id, start_at, end_at,"
        " capacity, seats_taken) VALUES (%s, %s, %s, %s, %s, 5, 1)"
    )
    block = (
        "INSERT INTO bookings.busy_blocks (provider_id, service_id, occurrence_id, start_at,"
        " end_at, buffer_before_minutes, buffer_after_minutes, during)"
        " VALUES (%s, %s, %s, %s, %s, 0, 0, tstzrange(%s, %s))"
    )
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        ids = []
        for start in (tomorrow_at(10), tomorrow_at(10, 30)):
            oid, sid = uuid.uuid4(), uuid.uuid4()
            end = start.replace(hour=start.hour + 1)
            conn.execute(insert, (oid, provider, sid, start, end))
            ids.append((oid, sid, start, end))
        oid, sid, start, end = ids[0]
        conn.execute(block, (provider, sid, oid, start, end, start, end))
        oid, sid, start, end = ids[1]
        try:
            conn.execute(block, (provider, sid, oid, start, end, start, end))
        except psycopg.errors.ExclusionViolation:
            pass
        else:
            raise AssertionError("overlapping busy time was accepted")
        try:
            conn.execute("UPDATE bookings.occurrences SET seats_taken = 6")
        except psycopg.errors.CheckViolation:
            pass
        else:
            raise AssertionError("an occurrence was oversold")
