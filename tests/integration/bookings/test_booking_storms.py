"""Overlapping storms: many concurrent writes over overlapping times of one provider.

Equal-slot races only ever collide on one range; overlapping starts (a 60-minute
service cut every 15 minutes) make transactions insert *different* overlapping ranges
into the GiST exclusion constraint, where PostgreSQL can deadlock two inserters. Every
answer must still be 2xx or 409, and SQL afterwards must find no overlap and no
oversold occurrence.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta

import psycopg

from calisera.core.database import libpq_url

from .conftest import booking_body, tomorrow_at

ROUNDS = 6
STARTS = 12
BOOKERS = 48


def _rows(database_url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(query).fetchall()


def _overlapping_busy_time(database_url: str) -> list[tuple[object, ...]]:
    """Pairs of a provider's active bookings whose buffered times overlap (one-to-one
    bookings, and one-to-one against booked occurrences)."""
    return _rows(
        database_url,
        """
        WITH t AS (
            SELECT id, provider_id, occurrence_id,
                   tstzrange(start_at - make_interval(mins => buffer_before_minutes),
                             end_at + make_interval(mins => buffer_after_minutes)) AS during
              FROM bookings.bookings WHERE status = 'confirmed')
        SELECT a.id, b.id FROM t a JOIN t b
            ON a.provider_id = b.provider_id AND a.id < b.id AND a.during && b.during
         WHERE a.occurrence_id IS DISTINCT FROM b.occurrence_id
           AND (a.occurrence_id IS NULL OR b.occurrence_id IS NULL)
        """,
    )


def _oversold(database_url: str) -> list[tuple[object, ...]]:
    return _rows(
        database_url,
        """
        SELECT o.id, o.capacity, o.seats_taken, coalesce(sum(b.seats), 0)
          FROM bookings.occurrences o
          LEFT JOIN bookings.bookings b ON b.occurrence_id = o.id AND b.status = 'confirmed'
         GROUP BY o.id
        HAVING o.seats_taken > o.capacity OR o.seats_taken <> coalesce(sum(b.seats), 0)
        """,
    )


async def test_overlapping_one_to_one_storms_answer_only_201_or_409(
    client, schedules, database_url
):
    config = await schedules.add_service(duration_minutes=60, slot_interval_minutes=15)
    statuses: Counter[int] = Counter()
    for round_ in range(ROUNDS):
        base = tomorrow_at(6, days=1 + round_)
        starts = [base + timedelta(minutes=15 * i) for i in range(STARTS)]
        bodies = [booking_body(config, starts[i % STARTS]) for i in range(BOOKERS)]
        responses = await asyncio.gather(*(client.post("/api/v1/bookings", json=b) for b in bodies))
        statuses.update(r.status_code for r in responses)
        # 12 quarter-hour starts of a 60-minute service: two to three of them fit
        assert 2 <= sum(r.status_code == 201 for r in responses) <= 3
    assert set(statuses) <= {201, 409}, statuses
    assert _overlapping_busy_time(database_url) == []


async def test_mixed_storm_of_bookings_cancels_and_reschedules_of_all_kinds_never_5xx(
    client, schedules, admin_headers, database_url
):
    simple = await schedules.add_service(
        duration_minutes=60, slot_interval_minutes=15, buffer_after_minutes=15
    )
    provider = simple.provider_id
    klass = await schedules.add_service(
        provider_id=provider, kind="class", capacity=4, duration_minutes=60
    )
    rng = random.Random(13)
    statuses: Counter[int] = Counter()
    for round_ in range(4):
        day = 1 + round_
        event = await schedules.add_service(
            provider_id=provider,
            kind="event",
            capacity=3,
            duration_minutes=60,
            starts_at=tomorrow_at(17, 30, days=day),
        )
        # earlier bookings to cancel and reschedule during the storm
        seeded = []
        for hour in (8, 12):
            r = await client.post(
                "/api/v1/bookings", json=booking_body(simple, tomorrow_at(hour, days=day))
            )
            assert r.status_code == 201, r.text
            seeded.append(r.json())
        starts = [tomorrow_at(16, days=day) + timedelta(minutes=15 * i) for i in range(12)]
        calls = [
            client.post("/api/v1/bookings", json=booking_body(simple, rng.choice(starts)))
            for _ in range(24)
        ]
        calls += [
            client.post("/api/v1/bookings", json=booking_body(klass, tomorrow_at(18, days=day)))
            for _ in range(8)
        ]
        calls += [
            client.post("/api/v1/bookings", json=booking_body(event, tomorrow_at(17, 30, days=day)))
            for _ in range(6)
        ]
        calls.append(
            client.post(
                f"/api/v1/bookings/{seeded[0]['id']}/cancel",
                headers={"X-Manage-Token": seeded[0]["manage_token"]},
            )
        )
        calls += [
            client.post(
                f"/api/v1/bookings/{seeded[1]['id']}/reschedule",
                json={"start": rng.choice(starts).isoformat()},
                headers=admin_headers,
            )
            for _ in range(3)
        ]
        order = list(range(len(calls)))
        rng.shuffle(order)
        responses = await asyncio.gather(*(calls[i] for i in order))
        statuses.update(r.status_code for r in responses)
    assert set(statuses) <= {200, 201, 409}, statuses
    assert _overlapping_busy_time(database_url) == []
    assert _oversold(database_url) == []


async def test_concurrent_bookings_on_one_day_respect_the_daily_limit(
    client, schedules, database_url
):
    """The limit is counted under the provider's lock, on rows read after every earlier
    booking of the provider committed: ten bookers of ten free times, limit two."""
    config = await schedules.add_service(duration_minutes=30, max_bookings_per_day=2)
    starts = [tomorrow_at(8 + i) for i in range(10)]
    responses = await asyncio.gather(
        *(client.post("/api/v1/bookings", json=booking_body(config, s)) for s in starts)
    )
    assert Counter(r.status_code for r in responses) == {201: 2, 422: 8}
    assert {r.json()["reason"] for r in responses if r.status_code == 422} == {"daily_limit"}
    assert _rows(database_url, "SELECT count(*) FROM bookings.bookings") == [(2,)]


async def test_concurrent_reschedules_onto_one_day_respect_the_daily_limit(
    client, schedules, admin_headers
):
    config = await schedules.add_service(duration_minutes=30, max_bookings_per_day=1)
    ids = []
    for days in (2, 3, 4, 5):
        r = await client.post(
            "/api/v1/bookings", json=booking_body(config, tomorrow_at(9, days=days))
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    responses = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/bookings/{booking_id}/reschedule",
                json={"start": tomorrow_at(10 + i).isoformat()},
                headers=admin_headers,
            )
            for i, booking_id in enumerate(ids)
        )
    )
    assert Counter(r.status_code for r in responses) == {200: 1, 422: 3}
