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
    config = schedules.add_service()
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
    config = schedules.add_service(kind="class", capacity=5, duration_minutes=60)
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
    config = schedules.add_service()
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
    config = schedules.add_service()
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
