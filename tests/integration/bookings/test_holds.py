"""Slot holds: part of the same constraint as bookings, offered to nobody else, consumed
by the booking that presents them, expiring by themselves (time passing is simulated by
moving ``expires_at`` into the past in the database, as the clock would)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg

from calisera.core.database import libpq_url

from .conftest import booking_body, tomorrow_at


def _sql(database_url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _expire_hold(database_url: str, hold_id: str) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    _sql(database_url, "UPDATE bookings.holds SET expires_at = %s WHERE id = %s", past, hold_id)
    _sql(
        database_url,
        "UPDATE bookings.busy_blocks SET expires_at = %s WHERE hold_id = %s",
        past,
        hold_id,
    )


async def _hold(client, config, start, seats: int = 1):
    return await client.post(
        "/api/v1/holds",
        json={"service_id": str(config.service.id), "start": start.isoformat(), "seats": seats},
    )


async def _offered(client, config, day) -> dict[datetime, int]:
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": str(config.service.id), "start": day, "end": day},
    )
    assert r.status_code == 200, r.text
    return {datetime.fromisoformat(s["start"]): s["seats_left"] for s in r.json()["slots"]}


OTHER = {"name": "Other", "email": "other@example.com"}


async def test_a_held_slot_is_offered_to_nobody_else_and_booked_by_its_holder(
    client, schedules, book, database_url
):
    config = await schedules.add_service()
    before = datetime.now(UTC)
    r = await _hold(client, config, tomorrow_at(10))
    assert r.status_code == 201, r.text
    hold = r.json()
    expires = datetime.fromisoformat(hold["expires_at"])
    assert before + timedelta(minutes=9) < expires <= datetime.now(UTC) + timedelta(minutes=10)
    assert datetime.fromisoformat(hold["end"]) - datetime.fromisoformat(hold["start"]) == (
        timedelta(minutes=30)
    )
    offered = await _offered(client, config, tomorrow_at(10).date().isoformat())
    assert tomorrow_at(10) not in offered and tomorrow_at(11) in offered
    taken = await book(config, tomorrow_at(10), customer=OTHER)
    assert taken.status_code == 409 and taken.json()["type"].endswith("/slot-unavailable")
    assert (await _hold(client, config, tomorrow_at(10))).status_code == 409
    mine = await book(config, tomorrow_at(10), hold_id=hold["id"])
    assert mine.status_code == 201, mine.text
    again = await book(config, tomorrow_at(10), hold_id=hold["id"])
    assert again.status_code == 409 and again.json()["type"].endswith("/hold-expired")
    assert _sql(database_url, "SELECT count(*) FROM bookings.holds") == [(0,)]
    assert _sql(database_url, "SELECT count(*) FROM bookings.busy_blocks") == [(1,)]


async def test_thirty_concurrent_holds_of_one_slot_give_one_hold(client, schedules, database_url):
    config = await schedules.add_service()
    answers = await asyncio.gather(*(_hold(client, config, tomorrow_at(10)) for _ in range(30)))
    assert Counter(a.status_code for a in answers) == {201: 1, 409: 29}
    assert _sql(database_url, "SELECT count(*) FROM bookings.holds") == [(1,)]


async def test_the_holder_always_wins_against_a_storm_of_bookers(client, schedules, database_url):
    config = await schedules.add_service()
    for hour in range(8, 13):
        hold = (await _hold(client, config, tomorrow_at(hour))).json()
        holder = booking_body(config, tomorrow_at(hour), hold_id=hold["id"])
        others = booking_body(config, tomorrow_at(hour), customer=OTHER)
        answers = await asyncio.gather(
            *(client.post("/api/v1/bookings", json=others) for _ in range(5)),
            client.post("/api/v1/bookings", json=holder),
            *(client.post("/api/v1/bookings", json=others) for _ in range(5)),
        )
        assert answers[5].status_code == 201, answers[5].text
        assert {a.status_code for i, a in enumerate(answers) if i != 5} == {409}
    emails = _sql(database_url, "SELECT customer_email FROM bookings.bookings")
    assert Counter(e for (e,) in emails) == {"grace@example.com": 5}


async def test_seats_are_held_for_classes_and_events(client, schedules, book, database_url):
    klass = await schedules.add_service(kind="class", capacity=5, duration_minutes=60)
    hold = (await _hold(client, klass, tomorrow_at(18), seats=3)).json()
    offered = await _offered(client, klass, tomorrow_at(18).date().isoformat())
    assert offered == {tomorrow_at(18): 2}
    assert (await book(klass, tomorrow_at(18), seats=3, customer=OTHER)).status_code == 409
    assert (await book(klass, tomorrow_at(18), seats=2, customer=OTHER)).status_code == 201
    mine = await book(klass, tomorrow_at(18), seats=3, hold_id=hold["id"])
    assert mine.status_code == 201, mine.text
    assert _sql(database_url, "SELECT seats_taken FROM bookings.occurrences") == [(5,)]

    event = await schedules.add_service(
        provider_id=klass.provider_id,
        kind="event",
        capacity=4,
        duration_minutes=60,
        starts_at=tomorrow_at(8, days=3),
    )
    answers = await asyncio.gather(
        *(_hold(client, event, tomorrow_at(8, days=3)) for _ in range(10))
    )
    assert Counter(a.status_code for a in answers) == {201: 4, 409: 6}
    assert await _offered(client, event, tomorrow_at(8, days=3).date().isoformat()) == {}


async def test_an_expired_hold_frees_its_time_without_any_sweeper(
    client, schedules, book, database_url
):
    config = await schedules.add_service()
    hold = (await _hold(client, config, tomorrow_at(10))).json()
    _expire_hold(database_url, hold["id"])
    assert tomorrow_at(10) in await _offered(client, config, tomorrow_at(10).date().isoformat())
    other = await book(config, tomorrow_at(10), customer=OTHER)
    assert other.status_code == 201, other.text
    late = await book(config, tomorrow_at(10), hold_id=hold["id"])
    assert late.status_code == 409 and late.json()["type"].endswith("/hold-expired")
    assert _sql(database_url, "SELECT count(*) FROM bookings.holds") == [(0,)]


async def test_expired_seat_holds_are_free_again(client, schedules, book, database_url):
    klass = await schedules.add_service(kind="class", capacity=2, duration_minutes=60)
    hold = (await _hold(client, klass, tomorrow_at(18), seats=2)).json()
    assert (await book(klass, tomorrow_at(18), customer=OTHER)).status_code == 409
    _expire_hold(database_url, hold["id"])
    assert await _offered(client, klass, tomorrow_at(18).date().isoformat()) == {tomorrow_at(18): 2}
    assert (await book(klass, tomorrow_at(18), seats=2, customer=OTHER)).status_code == 201
    assert _sql(database_url, "SELECT seats_taken FROM bookings.occurrences") == [(2,)]


async def test_a_hold_books_only_its_own_service_time_and_seats(client, schedules, book):
    config = await schedules.add_service()
    other_service = await schedules.add_service(provider_id=config.provider_id)
    hold = (await _hold(client, config, tomorrow_at(10))).json()
    for target, start in ((config, tomorrow_at(11)), (other_service, tomorrow_at(10))):
        r = await book(target, start, hold_id=hold["id"])
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "hold_id"
    stranger = await schedules.add_service()  # another provider
    r = await book(stranger, tomorrow_at(10), hold_id=hold["id"])
    assert r.status_code == 409 and r.json()["type"].endswith("/hold-expired")
    assert (await book(config, tomorrow_at(10), hold_id=hold["id"])).status_code == 201


async def test_releasing_a_hold_frees_it_and_repeating_is_harmless(
    client, schedules, book, database_url
):
    config = await schedules.add_service()
    hold = (await _hold(client, config, tomorrow_at(10))).json()
    assert (await client.delete(f"/api/v1/holds/{hold['id']}")).status_code == 204
    assert (await client.delete(f"/api/v1/holds/{hold['id']}")).status_code == 204
    assert (await client.delete(f"/api/v1/holds/{uuid.uuid4()}")).status_code == 204
    assert (await book(config, tomorrow_at(10), customer=OTHER)).status_code == 201
    types = [r[0] for r in _sql(database_url, "SELECT type FROM bookings.outbox ORDER BY seq")]
    assert types == ["hold.placed", "hold.released", "booking.created"]


async def test_bad_hold_requests_are_4xx_naming_the_field(client, schedules):
    config = await schedules.add_service()
    base = {"service_id": str(config.service.id), "start": tomorrow_at(10).isoformat()}
    cases = {
        "seats": {**base, "seats": 0},
        "start": {**base, "start": "2026-13-40T25:00"},
        "service_id": {**base, "service_id": "nope\u0000"},
        "extra": {**base, "extra": 1},
    }
    for field, body in cases.items():
        r = await client.post("/api/v1/holds", json=body)
        assert r.status_code == 422, (field, r.text)
        assert field in r.json()["errors"][0]["field"], (field, r.text)
    misaligned = await client.post(
        "/api/v1/holds", json={**base, "start": tomorrow_at(10, 7).isoformat()}
    )
    assert misaligned.status_code == 422
    assert misaligned.json()["type"].endswith("/not-bookable")
    unknown = await client.post("/api/v1/holds", json={**base, "service_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    huge = await client.post("/api/v1/holds", json={**base, "seats": 10**12})
    assert huge.status_code == 422
    assert (await client.delete("/api/v1/holds/not-a-uuid")).status_code == 422
