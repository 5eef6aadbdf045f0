"""The service's limits through the HTTP API on real PostgreSQL: bookings per ISO week
(in the provider's zone), open bookings per customer, the least gap between one
customer's bookings, and the notice for moving a booking. Each limit is checked under
the provider's lock; the storms below would let several bookings through without it
(the last one bypasses the in-process queue, as separate processes would)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from calisera.bookings import lifecycle
from calisera.bookings.access import Actor
from calisera.bookings.errors import LimitReached
from calisera.bookings.schemas import BookingCreate
from calisera.bookings.transactions import write_transaction
from calisera.core.database import Database

from .conftest import FixedSchedule, booking_body, tomorrow_at

LIMIT = "https://calisera.dev/problems/limit-reached"


def next_monday() -> date:
    """A Monday whose Sunday before is wholly in the future (on a Sunday, not tomorrow:
    late on a Sunday the day has no slots left, which failed a test at 23:05 UTC)."""
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=7 - today.weekday())
    return monday + timedelta(days=7) if monday - today < timedelta(days=2) else monday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def _limit_of(response: Any) -> str:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == LIMIT
    return str(body["limit"])


def _customer(email: str) -> dict[str, str]:
    return {"name": "Grace Hopper", "email": email}


# --- bookings per week ---------------------------------------------------------------


async def test_a_full_week_refuses_more_and_the_next_week_books(client, schedules):
    config = await schedules.add_service(max_bookings_per_week=2)
    monday = next_monday()
    for start in (at(monday, 9), at(monday + timedelta(days=6), 23)):  # Monday and Sunday
        r = await client.post("/api/v1/bookings", json=booking_body(config, start))
        assert r.status_code == 201, r.text
    third = await client.post("/api/v1/bookings", json=booking_body(config, at(monday, 12)))
    assert _limit_of(third) == "max_bookings_per_week"
    assert third.json()["reason"] == "weekly_limit"
    r = await client.post(
        "/api/v1/bookings", json=booking_body(config, at(monday + timedelta(days=7), 0))
    )
    assert r.status_code == 201, r.text


async def test_listing_offers_nothing_in_a_full_week_and_explains_why(client, schedules):
    config = await schedules.add_service(max_bookings_per_week=1)
    monday = next_monday()
    assert (
        await client.post("/api/v1/bookings", json=booking_body(config, at(monday, 9)))
    ).status_code == 201
    listed = await client.get(
        "/api/v1/availability",
        params={
            "service_id": str(config.service.id),
            "start": (monday - timedelta(days=1)).isoformat(),
            "end": (monday + timedelta(days=7)).isoformat(),
        },
    )
    assert listed.status_code == 200, listed.text
    days = {datetime.fromisoformat(s["start"]).date() for s in listed.json()["slots"]}
    assert days == {monday - timedelta(days=1), monday + timedelta(days=7)}
    why = await client.get(
        "/api/v1/availability/explain",
        params={"service_id": str(config.service.id), "start": at(monday, 15).isoformat()},
    )
    assert why.json()["reason"] == "weekly_limit"
    assert why.json()["message"] == "The service has reached its bookings limit for that week."


async def test_the_week_is_the_providers_week(client, schedules, admin_headers):
    """Auckland is UTC+12/13: its Monday 00:30 is Sunday in UTC, and counts for Monday."""
    config = await schedules.add_service(max_bookings_per_week=1)
    r = await client.patch(
        f"/api/v1/providers/{config.provider_id}",
        json={"timezone": "Pacific/Auckland"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    monday = next_monday() + timedelta(days=7)
    from zoneinfo import ZoneInfo

    auckland = ZoneInfo("Pacific/Auckland")
    monday_early = datetime.combine(monday, time(0, 30), auckland)
    assert monday_early.astimezone(UTC).weekday() == 6  # a Sunday in UTC
    assert (
        await client.post("/api/v1/bookings", json=booking_body(config, monday_early))
    ).status_code == 201
    sunday_before = datetime.combine(monday - timedelta(days=1), time(12), auckland)
    assert (
        await client.post("/api/v1/bookings", json=booking_body(config, sunday_before))
    ).status_code == 201
    friday = datetime.combine(monday + timedelta(days=4), time(12), auckland)
    refused = await client.post("/api/v1/bookings", json=booking_body(config, friday))
    assert _limit_of(refused) == "max_bookings_per_week"


async def test_concurrent_bookings_of_one_week_respect_the_weekly_limit(client, schedules):
    config = await schedules.add_service(max_bookings_per_week=3)
    monday = next_monday()
    starts = [at(monday + timedelta(days=i % 7), 8 + i) for i in range(10)]
    responses = await asyncio.gather(
        *(client.post("/api/v1/bookings", json=booking_body(config, s)) for s in starts)
    )
    assert Counter(r.status_code for r in responses) == {201: 3, 409: 7}
    assert {_limit_of(r) for r in responses if r.status_code == 409} == {"max_bookings_per_week"}


async def test_rescheduling_into_a_full_week_is_refused(client, schedules, admin_headers):
    config = await schedules.add_service(max_bookings_per_week=1)
    monday = next_monday()
    first = await client.post("/api/v1/bookings", json=booking_body(config, at(monday, 9)))
    later = await client.post(
        "/api/v1/bookings", json=booking_body(config, at(monday + timedelta(days=7), 9))
    )
    moved_within = await client.post(
        f"/api/v1/bookings/{first.json()['id']}/reschedule",
        json={"start": at(monday + timedelta(days=2), 9).isoformat()},
        headers=admin_headers,
    )
    assert moved_within.status_code == 200, moved_within.text  # it does not count itself
    refused = await client.post(
        f"/api/v1/bookings/{later.json()['id']}/reschedule",
        json={"start": at(monday, 15).isoformat()},
        headers=admin_headers,
    )
    assert _limit_of(refused) == "max_bookings_per_week"


# --- open bookings per customer --------------------------------------------------------


async def test_ten_concurrent_bookings_of_one_customer_with_limit_one_book_once(client, schedules):
    config = await schedules.add_service(max_open_bookings_per_customer=1)
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/bookings",
                json=booking_body(
                    config, tomorrow_at(8 + i), customer=_customer("grace@example.com")
                ),
            )
            for i in range(10)
        )
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 9}
    assert {_limit_of(r) for r in responses if r.status_code == 409} == {
        "max_open_bookings_per_customer"
    }


async def test_the_open_limit_is_per_address_any_case_and_frees_on_cancel(client, schedules):
    config = await schedules.add_service(max_open_bookings_per_customer=2)
    made = []
    for i, email in enumerate(("grace@example.com", "Grace@Example.com")):
        r = await client.post(
            "/api/v1/bookings",
            json=booking_body(config, tomorrow_at(8 + i), customer=_customer(email)),
        )
        assert r.status_code == 201, r.text
        made.append(r.json())
    third = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(12), customer=_customer("GRACE@example.com")),
    )
    assert _limit_of(third) == "max_open_bookings_per_customer"
    other = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(12), customer=_customer("ada@example.com")),
    )
    assert other.status_code == 201, other.text
    cancelled = await client.post(
        f"/api/v1/bookings/{made[0]['id']}/cancel",
        headers={"X-Manage-Token": made[0]["manage_token"]},
    )
    assert cancelled.status_code == 200, cancelled.text
    again = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(14), customer=_customer("grace@example.com")),
    )
    assert again.status_code == 201, again.text


async def test_pending_requests_count_as_open(client, schedules):
    config = await schedules.add_service(
        max_open_bookings_per_customer=1, requires_confirmation=True
    )
    first = await client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(9)))
    assert first.status_code == 201 and first.json()["status"] == "pending"
    second = await client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(11)))
    assert _limit_of(second) == "max_open_bookings_per_customer"


# --- the gap between one customer's bookings ---------------------------------------------


async def test_a_customers_bookings_keep_the_minimum_gap(client, schedules, admin_headers):
    config = await schedules.add_service(min_gap_minutes_per_customer=120)  # 30-minute slots
    first = await client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(10)))
    assert first.status_code == 201, first.text
    for start in (tomorrow_at(11), tomorrow_at(8), tomorrow_at(12)):
        near = await client.post("/api/v1/bookings", json=booking_body(config, start))
        assert _limit_of(near) == "min_gap_minutes_per_customer", start
    for start in (tomorrow_at(12, 30), tomorrow_at(7, 30)):  # exactly two hours apart
        r = await client.post("/api/v1/bookings", json=booking_body(config, start))
        assert r.status_code == 201, (start, r.text)
    someone_else = await client.post(
        "/api/v1/bookings",
        json=booking_body(config, tomorrow_at(11), customer=_customer("ada@example.com")),
    )
    assert someone_else.status_code == 201, someone_else.text
    moved = await client.post(
        f"/api/v1/bookings/{first.json()['id']}/reschedule",
        json={"start": tomorrow_at(15, 30).isoformat()},
        headers=admin_headers,
    )
    assert moved.status_code == 200, moved.text  # its own old time does not count


async def test_concurrent_bookings_of_one_customer_keep_the_gap(client, schedules):
    config = await schedules.add_service(min_gap_minutes_per_customer=600)
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(8, 30 * i)))
            for i in range(2)
        ),
        *(
            client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(9 + i)))
            for i in range(8)
        ),
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 9}


async def test_the_limit_holds_across_processes_with_no_shared_queue(schedules, database_url):
    """Ten writers on ten connections and no in-process queue, as ten replicas would
    be: only the provider's advisory lock orders them."""
    config = await schedules.add_service(max_open_bookings_per_customer=1)
    db = Database(database_url, pool_size=10)
    now = datetime.now(UTC)

    async def attempt(i: int) -> str:
        request = BookingCreate.model_validate(
            booking_body(config, tomorrow_at(8 + i), customer=_customer("grace@example.com"))
        )
        async with db.sessionmaker() as session:
            try:
                await write_transaction(
                    session,
                    lambda: lifecycle.create_booking(
                        session,
                        FixedSchedule(config),
                        config.provider_id,
                        request,
                        now,
                        Actor("customer", "grace@example.com"),
                    ),
                )
            except LimitReached as exc:
                return exc.limit
        return "booked"

    try:
        outcomes = Counter(await asyncio.gather(*(attempt(i) for i in range(10))))
    finally:
        await db.dispose()
    assert outcomes == {"booked": 1, "max_open_bookings_per_customer": 9}


# --- notice for moving a booking ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cancel_notice", "move_notice", "cancel_status", "move_status"),
    [(0, 48 * 60, 200, 409), (48 * 60, 0, 409, 200), (48 * 60, None, 409, 409)],
)
async def test_moving_has_its_own_notice_and_falls_back_to_the_cancellation_notice(
    client, schedules, cancel_notice, move_notice, cancel_status, move_status
):
    config = await schedules.add_service(
        cancellation_notice_minutes=cancel_notice, reschedule_notice_minutes=move_notice
    )
    made = []
    for hour in (9, 11):
        r = await client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(hour)))
        assert r.status_code == 201, r.text
        made.append(r.json())
    moved = await client.post(
        f"/api/v1/bookings/{made[0]['id']}/reschedule",
        json={"start": tomorrow_at(14).isoformat()},
        headers={"X-Manage-Token": made[0]["manage_token"]},
    )
    assert moved.status_code == move_status, moved.text
    if move_status == 409:
        assert moved.json()["type"].endswith("/too-late-to-change")
        assert "Moving the booking is possible until" in moved.json()["detail"]
    cancelled = await client.post(
        f"/api/v1/bookings/{made[1]['id']}/cancel",
        headers={"X-Manage-Token": made[1]["manage_token"]},
    )
    assert cancelled.status_code == cancel_status, cancelled.text


async def test_limits_are_part_of_the_service_and_validated(client, schedules, admin_headers):
    config = await schedules.add_service()
    url = f"/api/v1/providers/{config.provider_id}/services/{config.service.id}"
    fields = {
        "max_bookings_per_week": 5,
        "max_open_bookings_per_customer": 2,
        "min_gap_minutes_per_customer": 1440,
        "reschedule_notice_minutes": 120,
    }
    r = await client.patch(url, json=fields, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in fields} == fields
    for name in fields:
        bad = await client.patch(url, json={name: -1}, headers=admin_headers)
        assert bad.status_code == 422
        assert [e["field"] for e in bad.json()["errors"]] == [name]
        text = await client.patch(url, json={name: "5"}, headers=admin_headers)
        assert text.status_code == 422
    cleared = await client.patch(url, json=dict.fromkeys(fields), headers=admin_headers)
    assert {k: cleared.json()[k] for k in fields} == dict.fromkeys(fields)
