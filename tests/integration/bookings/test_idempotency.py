"""Idempotency-Key on create and reschedule."""

from __future__ import annotations

import asyncio

import psycopg

from calisera.core.database import libpq_url
from tests.conftest import ADMIN_TOKEN

from .conftest import booking_body, tomorrow_at


def _count(database_url: str, query: str) -> int:
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


async def test_replay_with_the_same_key_returns_the_first_response(client, schedules, database_url):
    config = await schedules.add_service()
    body = booking_body(config, tomorrow_at(10))
    headers = {"Idempotency-Key": "retry-me-1-0123456789abcdef"}
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
        headers={"Idempotency-Key": "k-clear-0123456789abcdef"},
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
    assert "k-clear-0123456789abcdef" not in keys


async def test_same_key_with_another_body_is_422(client, schedules):
    config = await schedules.add_service()
    headers = {"Idempotency-Key": "retry-me-2-0123456789abcdef"}
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
    headers = {"Idempotency-Key": "storm-0123456789abcdef"}
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
    from calisera.bookings.idempotency import IdempotencyKey, lookup_secret, request_hash
    from calisera.bookings.schemas import BookingCreate

    key = IdempotencyKey("create", "slow-one-0123456789abcdef", lookup_secret(ADMIN_TOKEN))
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
    r = await client.post(
        "/api/v1/bookings", json=body, headers={"Idempotency-Key": "slow-one-0123456789abcdef"}
    )
    assert r.status_code == 409
    assert r.json()["type"].endswith("/idempotency-in-flight")
    assert _count(database_url, "SELECT count(*) FROM bookings.bookings") == 0


async def test_a_failed_request_releases_its_key(client, schedules):
    config = await schedules.add_service()
    headers = {"Idempotency-Key": "try-again-0123456789abcdef"}
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
    headers = {"Idempotency-Key": "old-key-0123456789abcdef"}
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
    headers = {**admin_headers, "Idempotency-Key": "move-1-0123456789abcdef"}
    first = await client.post(url, json={"start": tomorrow_at(12).isoformat()}, headers=headers)
    again = await client.post(url, json={"start": tomorrow_at(12).isoformat()}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["version"] == 2


async def test_a_short_or_non_ascii_key_is_422_naming_the_header(client, schedules):
    config = await schedules.add_service()
    body = booking_body(config, tomorrow_at(10))
    for bad in (
        "k",
        "fifteen-chars-x",
        "x" * 256,
        "sixteen chars ok",
        "clé-0123456789abcdef".encode("latin-1"),
    ):
        r = await client.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": bad})
        assert r.status_code == 422, (bad, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["Idempotency-Key"]
    ok = await client.post(
        "/api/v1/bookings", json=body, headers={"Idempotency-Key": "sixteen-chars-ok"}
    )
    assert ok.status_code == 201


async def test_another_caller_presenting_the_same_key_gets_no_replay(
    client, schedules, auth_headers, database_url
):
    config = await schedules.add_service()
    body = booking_body(config, tomorrow_at(10))
    key = {"Idempotency-Key": "shared-key-0123456789"}
    first = await client.post("/api/v1/bookings", json=body, headers=key)
    assert first.status_code == 201
    for caller in (auth_headers("mallory@example.com"), auth_headers("eve@example.com")):
        r = await client.post("/api/v1/bookings", json=body, headers={**caller, **key})
        assert r.status_code == 409  # a booking of its own, refused: the slot is taken
        assert r.json()["type"].endswith("/slot-unavailable")
        assert "manage_token" not in r.text
    assert _count(database_url, "SELECT count(*) FROM bookings.idempotency_keys") == 1


async def test_the_lookup_hash_is_keyed_by_the_server_secret(client, schedules, database_url):
    import hashlib

    config = await schedules.add_service()
    key = "secret-keyed-0123456789"
    r = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(10)),
        headers={"Idempotency-Key": key},
    )
    assert r.status_code == 201
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute("SELECT key_hash FROM bookings.idempotency_keys").fetchone()
    assert row is not None
    unkeyed = {
        hashlib.sha256(key.encode()).digest(),
        hashlib.sha256(b"calisera-idempotency-lookup\0" + key.encode()).digest(),
        hashlib.sha256(b"create\0" + key.encode()).digest(),
    }
    assert bytes(row[0]) not in unkeyed


async def test_a_row_deleted_between_the_conflict_and_the_read_is_claimed_again(app, database_url):
    from datetime import UTC, datetime

    from calisera.bookings import idempotency

    key = idempotency.IdempotencyKey(
        "create", "vanishing-key-0123456789", idempotency.lookup_secret(ADMIN_TOKEN)
    )
    now = datetime.now(UTC)
    with psycopg.connect(libpq_url(database_url)) as holder:
        holder.execute(
            "INSERT INTO bookings.idempotency_keys (scope, key_hash, request_hash, state,"
            " created_at) VALUES ('create', %s, %s, 'in_flight', now())",
            (key.lookup_hash, b"other"),
        )
        holder.commit()
        # the first request is failing: it holds the row and is about to release it
        holder.execute(
            "SELECT 1 FROM bookings.idempotency_keys WHERE key_hash = %s FOR UPDATE",
            (key.lookup_hash,),
        )
        claim = asyncio.create_task(
            idempotency.claim(app.state.platform.db.sessionmaker, key, b"mine", now)
        )
        await asyncio.sleep(0.5)  # the claim's insert found the row; its read now waits
        assert not claim.done()
        holder.execute(
            "DELETE FROM bookings.idempotency_keys WHERE key_hash = %s", (key.lookup_hash,)
        )
        holder.commit()
    assert await asyncio.wait_for(claim, 10) is None  # claimed, not a 500
    assert (
        _count(
            database_url,
            "SELECT count(*) FROM bookings.idempotency_keys WHERE request_hash = 'mine'",
        )
        == 1
    )


async def test_an_abandoned_in_flight_key_is_taken_over_after_it_expires(
    client, schedules, database_url
):
    from calisera.bookings.idempotency import IdempotencyKey, lookup_secret, request_hash
    from calisera.bookings.schemas import BookingCreate

    config = await schedules.add_service()
    body = booking_body(config, tomorrow_at(10))
    header = "abandoned-key-0123456789"
    key = IdempotencyKey("create", header, lookup_secret(ADMIN_TOKEN))
    digest = request_hash(BookingCreate.model_validate(body).model_dump(mode="json"))
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        # a process claimed the key and was killed before it finished
        conn.execute(
            "INSERT INTO bookings.idempotency_keys (scope, key_hash, request_hash, state,"
            " created_at) VALUES ('create', %s, %s, 'in_flight', now())",
            (key.lookup_hash, digest),
        )
        busy = await client.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": header})
        assert busy.status_code == 409
        assert busy.json()["type"].endswith("/idempotency-in-flight")
        conn.execute(
            "UPDATE bookings.idempotency_keys SET created_at = now() - interval '61 seconds'"
        )
    r = await client.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": header})
    assert r.status_code == 201, r.text
    again = await client.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": header})
    assert again.json() == r.json()
    assert _count(database_url, "SELECT count(*) FROM bookings.bookings") == 1
