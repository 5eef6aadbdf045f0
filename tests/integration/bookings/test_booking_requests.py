"""Bookings that require the provider's confirmation: a request holds its time in the
same exclusion constraint as a confirmed booking, is answered once, and expires by
itself (no sweeper needed for correctness).

Time passing is simulated by moving a request's ``expires_at`` into the past in the
database (as the clock would): the shortest configurable timeout is five minutes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from calisera.bookings.decision_links import decision_token
from calisera.bookings.expiry import expire_due
from calisera.core.database import Database, libpq_url
from tests.conftest import ADMIN_TOKEN

from .conftest import booking_body, tomorrow_at


def _sql(database_url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _expire_in_db(database_url: str, booking_id: str) -> None:
    """The clock passes the request's expiry (nothing else is touched)."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    _sql(
        database_url, "UPDATE bookings.bookings SET expires_at = %s WHERE id = %s", past, booking_id
    )
    _sql(
        database_url,
        "UPDATE bookings.busy_blocks SET expires_at = %s WHERE booking_id = %s",
        past,
        booking_id,
    )


def _statuses(database_url: str) -> Counter[object]:
    return Counter(r[0] for r in _sql(database_url, "SELECT status FROM bookings.bookings"))


def _events(database_url: str) -> list[object]:
    return [
        r[0]
        for r in _sql(database_url, "SELECT type FROM bookings.outbox ORDER BY occurred_at, id")
    ]


async def _requested(schedules, **fields):
    return await schedules.add_service(requires_confirmation=True, **fields)


async def test_a_request_is_pending_with_an_expiry_and_holds_its_time(
    client, schedules, book, database_url
):
    config = await _requested(schedules, confirmation_timeout_minutes=120)
    assert config.service.requires_confirmation
    before = datetime.now(UTC)
    r = await book(config, tomorrow_at(10))
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["status"] == "pending"
    expires = datetime.fromisoformat(request["expires_at"])
    assert before + timedelta(minutes=119) < expires <= datetime.now(UTC) + timedelta(minutes=120)
    second = await book(config, tomorrow_at(10), customer={"name": "B", "email": "b@example.com"})
    assert second.status_code == 409
    assert second.json()["type"].endswith("/slot-unavailable")
    day = tomorrow_at(10).date().isoformat()
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": str(config.service.id), "start": day, "end": day},
    )
    starts = {datetime.fromisoformat(s["start"]) for s in r.json()["slots"]}
    assert tomorrow_at(10) not in starts and tomorrow_at(11) in starts
    assert _events(database_url) == ["booking.requested"]


async def test_a_request_blocks_a_confirmed_booking_of_another_service(schedules, book):
    requested = await _requested(schedules)
    direct = await schedules.add_service(
        provider_id=requested.provider_id, slot_interval_minutes=15
    )
    assert (await book(requested, tomorrow_at(9))).status_code == 201
    r = await book(direct, tomorrow_at(9, 15))
    assert r.status_code == 409


async def test_forty_concurrent_requests_of_one_slot_give_one_request(
    client, schedules, database_url
):
    config = await _requested(schedules)
    body = booking_body(config, tomorrow_at(10))
    responses = await asyncio.gather(
        *(client.post("/api/v1/bookings", json=body) for _ in range(40))
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 39}
    assert _statuses(database_url) == {"pending": 1}


async def test_owner_confirms_and_the_customer_is_told(
    client, schedules, book, auth_headers, database_url
):
    config = await _requested(schedules)
    request = (await book(config, tomorrow_at(10))).json()
    r = await client.post(
        f"/api/v1/bookings/{request['id']}/confirm", headers=auth_headers("owner@example.com")
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["expires_at"] is None
    again = await client.post(
        f"/api/v1/bookings/{request['id']}/confirm", headers=auth_headers("owner@example.com")
    )
    assert again.status_code == 200 and again.json()["version"] == r.json()["version"]
    # a confirmed booking never expires, whatever its old request deadline said
    _sql(
        database_url,
        "UPDATE bookings.bookings SET expires_at = now() - interval '1 day' WHERE id = %s",
        request["id"],
    )
    assert (await book(config, tomorrow_at(10))).status_code == 409
    assert _events(database_url) == ["booking.requested", "booking.confirmed"]


async def test_decline_frees_the_time_and_says_why(
    client, schedules, book, admin_headers, database_url
):
    config = await _requested(schedules)
    request = (await book(config, tomorrow_at(10))).json()
    r = await client.post(
        f"/api/v1/bookings/{request['id']}/decline",
        json={"reason": "Away that day"},
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert (await book(config, tomorrow_at(10))).status_code == 201
    confirm = await client.post(f"/api/v1/bookings/{request['id']}/confirm", headers=admin_headers)
    assert confirm.status_code == 409
    assert confirm.json()["type"].endswith("/invalid-transition")
    reasons = _sql(
        database_url,
        "SELECT envelope->'data'->>'reason' FROM bookings.outbox WHERE type = 'booking.declined'",
    )
    assert reasons == [("Away that day",)]


async def test_concurrent_confirm_and_decline_of_one_request_one_answer_wins(
    client, schedules, book, admin_headers, database_url
):
    config = await _requested(schedules)
    for hour in range(8, 14):
        request = (await book(config, tomorrow_at(hour))).json()
        url = f"/api/v1/bookings/{request['id']}"
        answers = await asyncio.gather(
            client.post(f"{url}/confirm", headers=admin_headers),
            client.post(f"{url}/decline", headers=admin_headers),
            client.post(f"{url}/confirm", headers=admin_headers),
            client.post(f"{url}/decline", headers=admin_headers),
        )
        final = _sql(
            database_url, "SELECT status FROM bookings.bookings WHERE id = %s", request["id"]
        )
        [(status,)] = final
        winners = [a for a in answers if a.status_code == 200]
        assert {a.json()["status"] for a in winners} == {status}
        assert all(a.status_code == 409 for a in answers if a.status_code != 200)
    types = Counter(_events(database_url))
    assert types["booking.confirmed"] + types["booking.declined"] == 6


async def test_an_expired_request_frees_its_slot_without_any_sweeper(
    client, schedules, book, database_url
):
    config = await _requested(schedules)
    request = (await book(config, tomorrow_at(10))).json()
    _expire_in_db(database_url, request["id"])
    # readers see it expired before anything wrote
    r = await client.get(
        f"/api/v1/bookings/{request['id']}", headers={"X-Manage-Token": request["manage_token"]}
    )
    assert r.json()["status"] == "expired"
    day = tomorrow_at(10).date().isoformat()
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": str(config.service.id), "start": day, "end": day},
    )
    assert tomorrow_at(10) in {datetime.fromisoformat(s["start"]) for s in r.json()["slots"]}
    # and the next booker gets the time: the request is expired under the provider's lock
    other = await book(config, tomorrow_at(10), customer={"name": "B", "email": "b@example.com"})
    assert other.status_code == 201, other.text
    assert _statuses(database_url) == {"expired": 1, "pending": 1}
    assert _events(database_url) == ["booking.requested", "booking.expired", "booking.requested"]


async def test_expired_request_loses_to_the_request_that_took_its_time(
    client, schedules, book, admin_headers, database_url
):
    """Two overlapping requests can exist only when the first expired; then confirming
    both at once must not give two confirmed bookings of one slot."""
    config = await _requested(schedules)
    for hour in range(8, 12):
        first = (await book(config, tomorrow_at(hour))).json()
        _expire_in_db(database_url, first["id"])
        second = await book(
            config, tomorrow_at(hour), customer={"name": "B", "email": "b@example.com"}
        )
        assert second.status_code == 201
        answers = await asyncio.gather(
            client.post(f"/api/v1/bookings/{first['id']}/confirm", headers=admin_headers),
            client.post(f"/api/v1/bookings/{second.json()['id']}/confirm", headers=admin_headers),
        )
        assert [a.status_code for a in answers] == [409, 200]
        assert answers[0].json()["type"].endswith("/request-expired")
    overlapping = _sql(
        database_url,
        """
        SELECT count(*) FROM bookings.bookings a JOIN bookings.bookings b
          ON a.id < b.id AND tstzrange(a.start_at, a.end_at) && tstzrange(b.start_at, b.end_at)
         WHERE a.status IN ('confirmed', 'pending') AND b.status IN ('confirmed', 'pending')
        """,
    )
    assert overlapping == [(0,)]


async def test_confirming_while_the_request_expires_and_rebooks_never_double_books(
    client, schedules, book, admin_headers, database_url
):
    config = await _requested(schedules)
    direct = await schedules.add_service(provider_id=config.provider_id)
    for hour in range(8, 13):
        first = (await book(config, tomorrow_at(hour))).json()
        _expire_in_db(database_url, first["id"])
        results = await asyncio.gather(
            client.post(f"/api/v1/bookings/{first['id']}/confirm", headers=admin_headers),
            *(
                client.post(
                    "/api/v1/bookings",
                    json=booking_body(
                        direct, tomorrow_at(hour), customer={"name": "C", "email": "c@example.com"}
                    ),
                )
                for _ in range(3)
            ),
        )
        assert results[0].status_code == 409
        assert Counter(r.status_code for r in results[1:]) == {201: 1, 409: 2}
    assert _statuses(database_url) == {"expired": 5, "confirmed": 5}


async def test_expired_seats_of_a_class_request_are_free_again(
    client, schedules, book, database_url
):
    config = await _requested(schedules, kind="class", capacity=3, duration_minutes=60)
    request = (await book(config, tomorrow_at(18), seats=3)).json()
    assert request["status"] == "pending"
    assert (await book(config, tomorrow_at(18))).status_code == 409
    _expire_in_db(database_url, request["id"])
    day = tomorrow_at(18).date().isoformat()
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": str(config.service.id), "start": day, "end": day},
    )
    assert [s["seats_left"] for s in r.json()["slots"]] == [3]
    assert (await book(config, tomorrow_at(18), seats=2)).status_code == 201
    assert _sql(database_url, "SELECT seats_taken FROM bookings.occurrences") == [(2,)]


async def test_the_sweeper_tells_about_expiry_where_nobody_writes(schedules, book, database_url):
    config = await _requested(schedules)
    request = (await book(config, tomorrow_at(10))).json()
    _expire_in_db(database_url, request["id"])
    db = Database(database_url, pool_size=2, max_overflow=0)
    try:
        assert await expire_due(db.sessionmaker, datetime.now(UTC)) == 1
        assert await expire_due(db.sessionmaker, datetime.now(UTC)) == 0
    finally:
        await db.dispose()
    assert _statuses(database_url) == {"expired": 1}
    assert _sql(database_url, "SELECT count(*) FROM bookings.busy_blocks") == [(0,)]
    assert _events(database_url) == ["booking.requested", "booking.expired"]


async def test_customer_withdraws_a_request_with_the_manage_token(
    client, schedules, book, database_url
):
    config = await _requested(schedules, cancellation_notice_minutes=100_000)
    request = (await book(config, tomorrow_at(10))).json()
    r = await client.post(
        f"/api/v1/bookings/{request['id']}/cancel",
        headers={"X-Manage-Token": request["manage_token"]},
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert (await book(config, tomorrow_at(10))).status_code == 201


async def test_only_the_owner_the_admin_or_the_signed_link_may_answer(
    client, schedules, book, auth_headers
):
    config = await _requested(schedules)
    request = (await book(config, tomorrow_at(10))).json()
    url = f"/api/v1/bookings/{request['id']}/confirm"
    assert (await client.post(url)).status_code == 401
    assert (await client.post(url, headers=auth_headers("mallory@example.com"))).status_code == 404
    manage = {"X-Manage-Token": request["manage_token"]}
    assert (await client.post(url, headers=manage)).status_code == 401
    forged = {
        "X-Decision-Token": decision_token("another-secret-entirely", uuid.UUID(request["id"]))
    }
    assert (await client.post(url, headers=forged)).status_code == 401
    other = (await book(config, tomorrow_at(12))).json()
    borrowed = {"X-Decision-Token": decision_token(ADMIN_TOKEN, uuid.UUID(other["id"]))}
    assert (await client.post(url, headers=borrowed)).status_code == 401
    signed = {"X-Decision-Token": decision_token(ADMIN_TOKEN, uuid.UUID(request["id"]))}
    r = await client.post(url, headers=signed)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    unknown = f"/api/v1/bookings/{uuid.uuid4()}/confirm"
    assert (
        await client.post(unknown, headers=auth_headers("owner@example.com"))
    ).status_code == 404


async def test_the_e_mail_link_shows_the_request_and_only_a_post_answers_it(
    client, schedules, book, database_url
):
    config = await _requested(schedules)
    request = (await book(config, tomorrow_at(10))).json()
    token = decision_token(ADMIN_TOKEN, uuid.UUID(request["id"]))
    url = f"/api/v1/bookings/{request['id']}/decision"
    page = await client.get(url, params={"token": token})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Confirm" in page.text and "Grace Hopper" in page.text
    assert _statuses(database_url) == {"pending": 1}  # a GET answers nothing
    forged = ("y" if token[0] == "x" else "x") + token[1:]  # never the token itself
    assert (await client.get(url, params={"token": forged})).status_code == 404
    assert (await client.get(url, params={"token": "a\u0000b"})).status_code == 422
    r = await client.post(url, data={"token": token, "answer": "decline"})
    assert r.status_code == 200 and "declined" in r.text
    again = await client.post(url, data={"token": token, "answer": "confirm"})
    assert again.status_code == 200 and "cannot be confirmed" in again.text
    assert _statuses(database_url) == {"declined": 1}
    bad = await client.post(url, data={"token": token, "answer": "maybe"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("answer")


@pytest.mark.parametrize("minutes", [4, 43_201])
async def test_confirmation_timeout_out_of_range_is_422_naming_the_field(
    client, schedules, admin_headers, minutes
):
    config = await schedules.add_service()
    r = await client.patch(
        f"/api/v1/providers/{config.provider_id}/services/{config.service.id}",
        json={"confirmation_timeout_minutes": minutes},
        headers=admin_headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"].endswith("confirmation_timeout_minutes")
