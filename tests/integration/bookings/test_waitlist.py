"""Waitlists of full occurrences: joined only when full, freed seats offered (held) to
the first in line in the freeing transaction, claimed once, an expired offer handed to
the next. Time passing is simulated by moving ``offer_expires_at`` (and its hold's
``expires_at``) into the past in the database, as the clock would."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from calisera.bookings import expiry, lifecycle, waitlist
from calisera.bookings.access import Actor
from calisera.bookings.consumers import consumer as bookings_consumer
from calisera.bookings.errors import SlotUnavailable
from calisera.bookings.schemas import BookingCreate, WaitlistClaim
from calisera.bookings.transactions import write_transaction
from calisera.core.consumers import deliver
from calisera.core.database import Database, libpq_url
from calisera.core.events import EventEnvelope

from .conftest import OWNER_EMAIL, FixedSchedule, booking_body, tomorrow_at


def _sql(database_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _customer(n: int | str) -> dict[str, str]:
    return {"name": f"Waiter {n}", "email": f"waiter-{n}@example.com"}


async def _join(client, config, start, customer, seats: int = 1):
    return await client.post(
        "/api/v1/waitlist",
        json={
            "service_id": str(config.service.id),
            "start": start.isoformat(),
            "seats": seats,
            "customer": customer,
        },
    )


async def _entry(client, joined: dict[str, Any]) -> dict[str, Any]:
    r = await client.get(
        f"/api/v1/waitlist/{joined['id']}", headers={"X-Waitlist-Token": joined["token"]}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def _claim(client, joined: dict[str, Any], **headers: str):
    return await client.post(
        f"/api/v1/waitlist/{joined['id']}/claim",
        json={},
        headers={"X-Waitlist-Token": joined["token"], **headers},
    )


async def _full_class(client, schedules, book, capacity: int = 2):
    config = await schedules.add_service(kind="class", capacity=capacity, duration_minutes=60)
    booked = []
    for i in range(capacity):
        r = await book(config, tomorrow_at(18), customer=_customer(f"booker-{i}"))
        assert r.status_code == 201, r.text
        booked.append(r.json())
    return config, booked


async def _cancel(client, booking: dict[str, Any]):
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert r.status_code == 200, r.text


def _expire_offer(database_url: str, entry_id: str) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    _sql(
        database_url,
        "UPDATE bookings.holds SET expires_at = %s"
        " WHERE id = (SELECT hold_id FROM bookings.waitlist_entries WHERE id = %s)",
        past,
        entry_id,
    )
    _sql(
        database_url,
        "UPDATE bookings.waitlist_entries SET offer_expires_at = %s WHERE id = %s",
        past,
        entry_id,
    )


def _seats_taken(database_url: str) -> int:
    return int(_sql(database_url, "SELECT seats_taken FROM bookings.occurrences")[0][0])


async def test_only_a_full_occurrence_takes_a_waitlist(client, schedules, book):
    config = await schedules.add_service(kind="class", capacity=2, duration_minutes=60)
    free = await _join(client, config, tomorrow_at(18), _customer(1))
    assert free.status_code == 409 and free.json()["type"].endswith("/seats-available")
    for i in range(2):
        assert (await book(config, tomorrow_at(18), customer=_customer(f"b{i}"))).status_code == 201

    first = await _join(client, config, tomorrow_at(18), _customer(1))
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "waiting" and first.json()["position"] == 1
    assert len(first.json()["token"]) > 30
    second = await _join(client, config, tomorrow_at(18), _customer(2), seats=2)
    assert second.status_code == 201 and second.json()["position"] == 2

    again = await _join(client, config, tomorrow_at(18), {**_customer(1), "name": "Again"})
    assert again.status_code == 409 and again.json()["type"].endswith("/already-waiting")
    assert again.json()["errors"][0]["field"] == "customer.email"
    upper = await _join(
        client, config, tomorrow_at(18), {**_customer(1), "email": "WAITER-1@example.com"}
    )
    assert upper.status_code == 409

    off_grid = await _join(client, config, tomorrow_at(17), _customer(3))
    assert off_grid.status_code == 422 and off_grid.json()["type"].endswith("/not-bookable")
    assert off_grid.json()["errors"][0]["field"] == "start"
    past = await _join(client, config, tomorrow_at(18, days=-2), _customer(3))
    assert past.status_code == 422 and past.json()["reason"] == "in_past"
    too_many = await _join(client, config, tomorrow_at(18), _customer(3), seats=3)
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "seats"

    simple = await schedules.add_service(provider_id=config.provider_id)
    one_to_one = await _join(client, simple, tomorrow_at(9), _customer(3))
    assert one_to_one.status_code == 422
    assert one_to_one.json()["errors"][0]["field"] == "service_id"
    unknown = await client.post(
        "/api/v1/waitlist",
        json={
            "service_id": str(uuid.uuid4()),
            "start": tomorrow_at(18).isoformat(),
            "customer": _customer(3),
        },
    )
    assert unknown.status_code == 404


async def test_a_cancelled_seat_is_held_for_the_first_in_line_who_claims_it(
    client, schedules, book, database_url
):
    config, booked = await _full_class(client, schedules, book)
    first = (await _join(client, config, tomorrow_at(18), _customer(1))).json()
    second = (await _join(client, config, tomorrow_at(18), _customer(2))).json()

    await _cancel(client, booked[0])
    offered = await _entry(client, first)
    assert offered["status"] == "offered" and offered["position"] is None
    deadline = datetime.fromisoformat(offered["offer_expires_at"])
    assert datetime.now(UTC) + timedelta(minutes=29) < deadline
    assert deadline <= datetime.now(UTC) + timedelta(minutes=30)
    assert (await _entry(client, second))["position"] == 1
    events = _sql(
        database_url,
        "SELECT envelope->'data' FROM bookings.outbox WHERE type = 'waitlist.offered'",
    )
    assert len(events) == 1 and events[0][0]["entry_id"] == first["id"]
    assert events[0][0]["claim_token_sealed"]  # the e-mail's claim link, sealed
    assert first["token"] not in str(events[0][0])

    # the freed seat is nobody else's: not offered by listing, not bookable, not holdable
    taken = await book(config, tomorrow_at(18), customer=_customer("late"))
    assert taken.status_code == 409 and taken.json()["type"].endswith("/slot-unavailable")
    slots = await client.get(
        "/api/v1/availability",
        params={
            "service_id": str(config.service.id),
            "start": tomorrow_at(18).date().isoformat(),
            "end": tomorrow_at(18).date().isoformat(),
        },
    )
    assert slots.json()["slots"] == []
    assert _seats_taken(database_url) == 2

    claimed = await _claim(client, first)
    assert claimed.status_code == 201, claimed.text
    body = claimed.json()
    assert body["entry"]["status"] == "claimed"
    assert body["booking"]["status"] == "confirmed" and body["booking"]["manage_token"]
    assert body["booking"]["customer"]["email"] == "waiter-1@example.com"
    assert body["entry"]["booking_id"] == body["booking"]["id"]
    twice = await _claim(client, first)
    assert twice.status_code == 409 and twice.json()["type"].endswith("/offer-expired")
    assert twice.json()["status"] == "claimed"
    assert _seats_taken(database_url) == 2
    assert _sql(database_url, "SELECT count(*) FROM bookings.holds") == [(0,)]
    waiting = await _claim(client, second)
    assert waiting.status_code == 409 and waiting.json()["status"] == "waiting"


async def test_a_claim_retried_with_its_idempotency_key_gets_the_first_answer(
    client, schedules, book
):
    config, booked = await _full_class(client, schedules, book, capacity=1)
    first = (await _join(client, config, tomorrow_at(18), _customer(1))).json()
    await _cancel(client, booked[0])
    key = {"Idempotency-Key": f"claim-{uuid.uuid4()}"}
    one = await _claim(client, first, **key)
    two = await _claim(client, first, **key)
    assert one.status_code == two.status_code == 201
    assert one.json() == two.json()


async def test_an_expired_offer_goes_to_the_next_in_line(client, schedules, book, database_url):
    config, booked = await _full_class(client, schedules, book)
    first = (await _join(client, config, tomorrow_at(18), _customer(1))).json()
    second = (await _join(client, config, tomorrow_at(18), _customer(2))).json()
    await _cancel(client, booked[0])
    assert (await _entry(client, first))["status"] == "offered"

    _expire_offer(database_url, first["id"])
    assert (await _entry(client, first))["status"] == "expired"  # read as expired at once
    late = await _claim(client, first)  # the claim records the expiry and offers the seat on
    assert late.status_code == 409 and late.json()["type"].endswith("/offer-expired")
    assert late.json()["status"] == "expired"
    assert (await _entry(client, second))["status"] == "offered"
    types = [t for (t,) in _sql(database_url, "SELECT type FROM bookings.outbox ORDER BY id")]
    assert types.count("waitlist.offered") == 2 and types.count("waitlist.expired") == 1
    assert _seats_taken(database_url) == 2
    assert (await _claim(client, second)).status_code == 201


async def test_the_sweep_alone_hands_an_expired_offer_on(client, schedules, book, database_url):
    config, booked = await _full_class(client, schedules, book)
    first = (await _join(client, config, tomorrow_at(18), _customer(1))).json()
    second = (await _join(client, config, tomorrow_at(18), _customer(2))).json()
    await _cancel(client, booked[0])
    _expire_offer(database_url, first["id"])
    db = Database(database_url, pool_size=2)
    try:
        await expiry.expire_due(db.sessionmaker, datetime.now(UTC))
    finally:
        await db.dispose()
    statuses = dict(_sql(database_url, "SELECT id::text, status FROM bookings.waitlist_entries"))
    assert statuses == {first["id"]: "expired", second["id"]: "offered"}
    # nobody else in line: the next expiry gives the seat back to everyone
    _expire_offer(database_url, second["id"])
    r = await book(config, tomorrow_at(18), customer=_customer("walk-in"))
    assert r.status_code == 201, r.text
    assert _seats_taken(database_url) == 2


async def test_leaving_gives_an_offer_to_the_next_and_is_harmless_twice(
    client, schedules, book, database_url
):
    config, booked = await _full_class(client, schedules, book)
    first = (await _join(client, config, tomorrow_at(18), _customer(1))).json()
    second = (await _join(client, config, tomorrow_at(18), _customer(2))).json()
    third = (await _join(client, config, tomorrow_at(18), _customer(3))).json()
    token = {"X-Waitlist-Token": second["token"]}
    left = await client.post(f"/api/v1/waitlist/{second['id']}/leave", headers=token)
    assert left.status_code == 200 and left.json()["status"] == "left"
    assert (await _entry(client, third))["position"] == 2
    again = await client.post(f"/api/v1/waitlist/{second['id']}/leave", headers=token)
    assert again.status_code == 200 and again.json()["status"] == "left"
    # the same address may join again once it left
    back = await _join(client, config, tomorrow_at(18), _customer(2))
    assert back.status_code == 201 and back.json()["position"] == 3

    await _cancel(client, booked[0])
    assert (await _entry(client, first))["status"] == "offered"
    r = await client.post(
        f"/api/v1/waitlist/{first['id']}/leave", headers={"X-Waitlist-Token": first["token"]}
    )
    assert r.json()["status"] == "left"
    assert (await _entry(client, third))["status"] == "offered"
    assert _seats_taken(database_url) == 2
    assert _sql(database_url, "SELECT count(*) FROM bookings.holds") == [(1,)]


async def test_the_first_whose_seats_fit_is_offered(client, schedules, book, database_url):
    config, booked = await _full_class(client, schedules, book, capacity=3)
    big = (await _join(client, config, tomorrow_at(18), _customer("big"), seats=2)).json()
    small = (await _join(client, config, tomorrow_at(18), _customer("small"))).json()
    await _cancel(client, booked[0])
    assert (await _entry(client, big))["status"] == "waiting"
    assert (await _entry(client, small))["status"] == "offered"
    await _cancel(client, booked[1])
    await _cancel(client, booked[2])
    assert (await _entry(client, big))["status"] == "offered"
    assert _seats_taken(database_url) == 3


async def test_a_provider_cancellation_and_a_raised_capacity_serve_the_line(
    client, schedules, book, auth_headers, admin_headers, database_url, settings
):
    config, booked = await _full_class(client, schedules, book)
    first = (await _join(client, config, tomorrow_at(18), _customer(1))).json()
    second = (await _join(client, config, tomorrow_at(18), _customer(2))).json()
    owner = auth_headers(OWNER_EMAIL)
    r = await client.post(f"/api/v1/bookings/{booked[0]['id']}/cancel", headers=owner)
    assert r.status_code == 200
    assert (await _entry(client, first))["status"] == "offered"
    r = await client.patch(
        f"/api/v1/providers/{config.provider_id}/services/{config.service.id}",
        json={"capacity": 3},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    walk_in = await book(config, tomorrow_at(18), customer=_customer("walk-in"))
    assert walk_in.status_code == 409  # the raised seat goes to the line first
    # the bookings consumer applies the raise and commits the offer
    (envelope,) = _sql(
        database_url,
        "SELECT envelope FROM providers.outbox WHERE type = 'service.updated'"
        " ORDER BY occurred_at DESC LIMIT 1",
    )[0]
    db = Database(database_url, pool_size=2)
    try:
        delivered = await deliver(
            bookings_consumer(settings), db.sessionmaker, EventEnvelope.model_validate(envelope)
        )
    finally:
        await db.dispose()
    assert delivered
    assert (await _entry(client, second))["status"] == "offered"
    assert _seats_taken(database_url) == 3


async def test_the_owner_lists_the_line_and_other_tenants_see_nothing(
    client, schedules, book, auth_headers
):
    config, _ = await _full_class(client, schedules, book)
    await schedules.add_service(owner_email="someone-else@example.com")
    first = (await _join(client, config, tomorrow_at(18), _customer(1))).json()
    second = (await _join(client, config, tomorrow_at(18), _customer(2))).json()
    owner, other = auth_headers(OWNER_EMAIL), auth_headers("someone-else@example.com")

    listing = f"/api/v1/providers/{config.provider_id}/waitlist"
    params = {"service_id": str(config.service.id), "start": tomorrow_at(18).isoformat()}
    r = await client.get(listing, params=params, headers=owner)
    assert r.status_code == 200, r.text
    assert [(e["id"], e["position"]) for e in r.json()["items"]] == [
        (first["id"], 1),
        (second["id"], 2),
    ]
    assert all(e.get("token") is None for e in r.json()["items"])
    page = await client.get(listing, params={**params, "limit": 1}, headers=owner)
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
    assert (await client.get(f"/api/v1/waitlist/{first['id']}", headers=owner)).status_code == 200

    unknown = str(uuid.uuid4())
    assert (await client.get(listing, headers=other)).status_code == 404
    assert (
        await client.get(listing.replace(str(config.provider_id), unknown), headers=other)
    ).status_code == 404
    for method, suffix in (("GET", ""), ("POST", "/leave"), ("POST", "/claim")):
        for headers in (other, {"X-Waitlist-Token": second["token"]}, {"X-Waitlist-Token": "x"}):
            r = await client.request(
                method, f"/api/v1/waitlist/{first['id']}{suffix}", headers=headers
            )
            assert r.status_code == 404, (method, suffix, r.text)
            missing = await client.request(
                method, f"/api/v1/waitlist/{unknown}{suffix}", headers=headers
            )
            assert missing.status_code == 404
            assert r.json()["type"] == missing.json()["type"]
    for suffix in ("", "/leave"):
        r = await client.request(
            "GET" if not suffix else "POST", f"/api/v1/waitlist/{first['id']}{suffix}"
        )
        assert r.status_code == 401
    assert (await _entry(client, first))["status"] == "waiting"  # nothing changed


@pytest.mark.parametrize(
    "change",
    [
        {"customer": {"name": "A\u0000B", "email": "grace@example.com"}},
        {"customer": {"name": "Grace", "email": "gr\u0000ace@example.com"}},
        {"customer": {"name": "x" * 100_000, "email": "grace@example.com"}},
        {"customer": {"name": "Grace", "email": "grace@example.com", "timezone": "UTC\u0000"}},
        {"seats": 10**12},
        {"start": "2026-13-45T99:00:00Z"},
        {"service_id": "not-a-uuid\u0000"},
        {"extra": "field"},
    ],
)
async def test_hostile_input_is_a_422_naming_the_field(client, schedules, book, change):
    config, _ = await _full_class(client, schedules, book, capacity=1)
    body = {
        "service_id": str(config.service.id),
        "start": tomorrow_at(18).isoformat(),
        "customer": _customer(1),
        **change,
    }
    r = await client.post("/api/v1/waitlist", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"]


async def test_hostile_claims_and_tokens_are_answered_not_failed(client, schedules, book):
    config, booked = await _full_class(client, schedules, book, capacity=1)
    first = (await _join(client, config, tomorrow_at(18), _customer(1))).json()
    await _cancel(client, booked[0])
    for token in ("\u0000", "x" * 10_000):
        r = await client.get(f"/api/v1/waitlist/{first['id']}", headers={"X-Waitlist-Token": token})
        assert r.status_code in (404, 422), r.text
    headers = {"X-Waitlist-Token": first["token"]}
    for body in ({"notes": "a\u0000b"}, {"notes": "x" * 100_000}, {"answers": {"k": "\u0000"}}):
        r = await client.post(f"/api/v1/waitlist/{first['id']}/claim", json=body, headers=headers)
        assert r.status_code == 422, r.text
    assert (await _claim(client, first)).status_code == 201


# --- concurrency: writers on their own connections, no in-process queue ------------------


CAPACITY = 6
WAITERS = 8
CANCELS = 4
BOOKERS = 12


async def test_concurrent_cancellations_offer_each_seat_once_in_line_and_nothing_oversells(
    client, schedules, book, database_url
):
    """Four cancellations, twelve walk-in bookers and, later, the claims, each on its own
    connection with no in-process queue (as replicas would be): every freed seat goes to
    exactly one waiter, the first four in line, and no walk-in gets one."""
    config, booked = await _full_class(client, schedules, book, capacity=CAPACITY)
    joined = []
    for i in range(WAITERS):
        r = await _join(client, config, tomorrow_at(18), _customer(i))
        assert r.status_code == 201, r.text
        joined.append(r.json())
    fixed = FixedSchedule(config)
    db = Database(database_url, pool_size=CANCELS + BOOKERS)

    async def cancel(booking: dict[str, Any]) -> str:
        async with db.sessionmaker() as session:
            await write_transaction(
                session,
                lambda: lifecycle.cancel_booking(
                    session, uuid.UUID(booking["id"]), Actor("owner", "o"), datetime.now(UTC)
                ),
            )
        return "cancelled"

    async def walk_in(i: int) -> str:
        request = BookingCreate.model_validate(
            booking_body(config, tomorrow_at(18), customer=_customer(f"walk-in-{i}"))
        )
        async with db.sessionmaker() as session:
            try:
                await write_transaction(
                    session,
                    lambda: lifecycle.create_booking(
                        session,
                        fixed,
                        config.provider_id,
                        request,
                        datetime.now(UTC),
                        Actor("customer", "walk-in"),
                    ),
                )
            except SlotUnavailable:
                return "full"
        return "booked"

    async def claim(entry: dict[str, Any]) -> str:
        async with db.sessionmaker() as session:
            result = await write_transaction(
                session,
                lambda: waitlist.claim_offer(
                    session, fixed, uuid.UUID(entry["id"]), entry["token"], WaitlistClaim()
                ),
            )
        return "claimed" if result.booking is not None else result.entry.status

    try:
        outcomes = await asyncio.gather(
            *(cancel(b) for b in booked[:CANCELS]),
            *(walk_in(i) for i in range(BOOKERS)),
        )
        assert Counter(outcomes) == {"cancelled": CANCELS, "full": BOOKERS}
        rows = _sql(
            database_url,
            "SELECT w.id::text, w.status, h.seats FROM bookings.waitlist_entries w"
            " LEFT JOIN bookings.holds h ON h.id = w.hold_id ORDER BY w.created_at, w.id",
        )
        assert [status for _, status, _ in rows] == ["offered"] * CANCELS + ["waiting"] * (
            WAITERS - CANCELS
        )
        assert all(seats == 1 for _, status, seats in rows if status == "offered")
        assert [r[0] for r in rows[:CANCELS]] == [e["id"] for e in joined[:CANCELS]]
        offers = _sql(
            database_url,
            "SELECT envelope->'data'->>'entry_id', count(*) FROM bookings.outbox"
            " WHERE type = 'waitlist.offered' GROUP BY 1",
        )
        assert sorted(offers) == sorted((e["id"], 1) for e in joined[:CANCELS])
        assert _seats_taken(database_url) == CAPACITY

        # the offered claim while walk-ins try again: the claims win every held seat
        outcomes = await asyncio.gather(
            *(claim(e) for e in joined[:CANCELS]),
            *(walk_in(100 + i) for i in range(BOOKERS)),
        )
        assert Counter(outcomes) == {"claimed": CANCELS, "full": BOOKERS}
    finally:
        await db.dispose()
    assert _sql(
        database_url,
        "SELECT seats_taken, capacity FROM bookings.occurrences",
    ) == [(CAPACITY, CAPACITY)]
    confirmed = _sql(
        database_url,
        "SELECT count(*), sum(seats) FROM bookings.bookings WHERE status = 'confirmed'",
    )
    assert confirmed == [(CAPACITY, CAPACITY)]
    assert _sql(database_url, "SELECT count(*) FROM bookings.holds") == [(0,)]
