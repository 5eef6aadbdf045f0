"""Idempotency-Key on create and reschedule."""

from __future__ import annotations

import asyncio

import psycopg

from calisera.core.database import libpq_url

from .conftest import booking_body, tomorrow_at


def _count(database_url: str, query: str) -> int:
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


async def test_replay_with_the_same_key_returns_the_first_response(client, schedules, database_url):
    config = await schedules.add_service()
    body = booking_body(config, tomorrow_at(10))
    headers = {"Idempotency-Key": "retry-me-1"}
    first = await client.post("/api/v1/bookings", json=body, headers=headers)
    assert first.status_code == 201
    # same body, other key order and spacing
    reordered = dict(reversed(list(body.items())))
    again = await client.post("/api/v1/bookings", json=reordered, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.json()["manage_token"] == first.json()["manage_token"]
    assert _count(database_url, "SELECT count(*) FROM bookings.bookings") == 1
    assert _count(database_url, "SELECT count(*) FROM bookings.outbox") == 1


async def test_manage_token_is_not_stored_in_clear(client, schedules, database_url):
    config = await schedules.add_service()
    first = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(10)),
        headers={"Idempotency-Key": "k-clear"},
    )
    token = first.json()["manage_token"]
    with psycopg.connect(libpq_url(database_url)) as conn:
        dump = conn.execute(
            "SELECT string_agg(encode(response, 'escape'), '') FROM bookings.idempotency_keys"
        ).fetchone()[0]
        keys = conn.execute(
            "SELECT string_agg(encode(key_hash, 'escape'), '') FROM bookings.idempotency_keys"
        ).fetchone()[0]
    assert token not in dump
    assert "k-clear" not in keys


async def test_same_key_with_another_body_is_422(client, schedules):
    config = await schedules.add_service()
    headers = {"Idempotency-Key": "retry-me-2"}
    assert (
        await client.post(
            "/api/v1/bookings", json=booking_body(config, tomorrow_at(10)), headers=headers
        )
    ).status_code == 201
    r = await client.post(
        "/api/v1/bookings", json=booking_body(config, tomorrow_at(11)), headers=headers
    )
    assert r.status_code == 422
    assert r.json()["type"].endswith("/idempotency-key-reused")


async def test_concurrent_requests_with_one_key_book_once(client, schedules, database_url):
    config = await schedules.add_service()
    body = booking_body(config, tomorrow_at(10))
    headers = {"Idempotency-Key": "storm"}
    responses = await asyncio.gather(
        *(client.post("/api/v1/bookings", json=body, headers=headers) for _ in range(10))
    )
    created = [r for r in responses if r.status_code == 201]
    in_flight = [r for r in responses if r.status_code == 409]
    assert len(created) + len(in_flight) == 10
    assert len({r.json()["id"] for r in created}) == 1
    assert all(r.json()["type"].endswith("/idempotency-in-flight") for r in in_flight)
    assert _count(database_url, "SELECT count(*) FROM bookings.bookings") == 1


async def test_a_key_seen_while_in_flight_is_409(client, schedules, database_url):
    config = await schedules.add_service()
    body = booking_body(config, tomorrow_at(10))
    from calisera.bookings.idempotency import IdempotencyKey, request_hash
    from calisera.bookings.schemas import BookingCreate

    key = IdempotencyKey("create", "slow-one")
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        # another process claimed the key a moment ago and is still working
        conn.execute(
            "INSERT INTO bookings.idempotency_keys (scope, key_hash, request_hash, state,"
            " created_at) VALUES ('create', %s, %s, 'in_flight', now())",
            (
                key.lookup_hash,
                request_hash(BookingCreate.model_validate(body).model_dump(mode="json")),
            ),
        )
    r = await client.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": "slow-one"})
    assert r.status_code == 409
    assert r.json()["type"].endswith("/idempotency-in-flight")
    assert _count(database_url, "SELECT count(*) FROM bookings.bookings") == 0


async def test_a_failed_request_releases_its_key(client, schedules):
    config = await schedules.add_service()
    headers = {"Idempotency-Key": "try-again"}
    assert (
        await client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(10)))
    ).status_code == 201
    taken = await client.post(
        "/api/v1/bookings", json=booking_body(config, tomorrow_at(10)), headers=headers
    )
    assert taken.status_code == 409
    r = await client.post(
        "/api/v1/bookings", json=booking_body(config, tomorrow_at(10)), headers=headers
    )
    assert r.status_code == 409
    assert r.json()["type"].endswith("/slot-unavailable")


async def test_keys_expire_after_24_hours(client, schedules, database_url):
    config = await schedules.add_service()
    headers = {"Idempotency-Key": "old-key"}
    first = await client.post(
        "/api/v1/bookings", json=booking_body(config, tomorrow_at(10)), headers=headers
    )
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute(
            "UPDATE bookings.idempotency_keys SET created_at = created_at - interval '25 hours'"
        )
    second = await client.post(
        "/api/v1/bookings", json=booking_body(config, tomorrow_at(11)), headers=headers
    )
    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]


async def test_reschedule_replay_returns_the_first_answer(client, schedules, admin_headers):
    config = await schedules.add_service()
    booking = (
        await client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(10)))
    ).json()
    url = f"/api/v1/bookings/{booking['id']}/reschedule"
    headers = {**admin_headers, "Idempotency-Key": "move-1"}
    first = await client.post(url, json={"start": tomorrow_at(12).isoformat()}, headers=headers)
    again = await client.post(url, json={"start": tomorrow_at(12).isoformat()}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["version"] == 2
