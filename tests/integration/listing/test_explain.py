"""GET /api/v1/availability/explain through the real providers, bookings and listing
services: the reason a time is not offered, and agreement with the slots offered."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tests.integration.bookings import conftest as bookings_fixtures
from tests.integration.bookings.conftest import tomorrow_at

schedules = bookings_fixtures.schedules
book = bookings_fixtures.book


async def _why(client, config, start: datetime, seats: int = 1) -> dict:
    r = await client.get(
        "/api/v1/availability/explain",
        params={"service_id": str(config.service.id), "start": start.isoformat(), "seats": seats},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_reasons_follow_bookings_holds_requests_and_schedule_changes(
    client, schedules, book, admin_headers
):
    config = await schedules.add_service(buffer_after_minutes=15, slot_interval_minutes=15)
    assert (await _why(client, config, tomorrow_at(10)))["offered"] is True
    booking = (await book(config, tomorrow_at(10))).json()
    assert (await _why(client, config, tomorrow_at(10)))["reason"] == "booked"
    assert (await _why(client, config, tomorrow_at(10, 30)))["reason"] == "buffer"
    answer = await _why(client, config, tomorrow_at(10, 45))
    assert answer == {
        "service_id": str(config.service.id),
        "start": answer["start"],
        "seats": 1,
        "offered": True,
        "reason": None,
        "message": None,
    }
    r = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=admin_headers)
    assert r.status_code == 200
    assert (await _why(client, config, tomorrow_at(10)))["offered"] is True

    hold = await client.post(
        "/api/v1/holds",
        json={"service_id": str(config.service.id), "start": tomorrow_at(12).isoformat()},
    )
    assert hold.status_code == 201
    assert (await _why(client, config, tomorrow_at(12)))["reason"] == "booked"

    asked = await schedules.add_service(provider_id=config.provider_id, requires_confirmation=True)
    assert (await book(asked, tomorrow_at(14))).json()["status"] == "pending"
    assert (await _why(client, config, tomorrow_at(14)))["reason"] == "booked"

    day = tomorrow_at(0).date()
    r = await client.put(
        f"/api/v1/providers/{config.provider_id}/availability",
        json={
            "weekly": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(7)],
            "overrides": [
                {
                    "date": (day + timedelta(days=1)).isoformat(),
                    "intervals": [{"start": "13:00", "end": "15:00"}],
                }
            ],
            "time_off": [
                {"start": f"{day.isoformat()}T16:00:00", "end": f"{day.isoformat()}T17:00:00"}
            ],
        },
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert (await _why(client, config, tomorrow_at(16)))["reason"] == "time_off"
    assert (await _why(client, config, tomorrow_at(19)))["reason"] == "outside_hours"
    assert (await _why(client, config, tomorrow_at(10, days=2)))["reason"] == "override"
    assert (await _why(client, config, tomorrow_at(10, 5)))["reason"] == "misaligned"
    assert (await _why(client, config, tomorrow_at(10, days=400)))["reason"] == "too_far"
    past = await _why(client, config, tomorrow_at(10, days=-3))
    assert past["reason"] == "in_past" and past["message"]


async def test_every_time_of_a_day_is_offered_iff_it_has_no_reason(client, schedules, book):
    config = await schedules.add_service(buffer_before_minutes=10, slot_interval_minutes=15)
    for hour in (9, 13):
        assert (await book(config, tomorrow_at(hour))).status_code == 201
    day = tomorrow_at(0).date().isoformat()
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": str(config.service.id), "start": day, "end": day, "timezone": "UTC"},
    )
    offered = {datetime.fromisoformat(s["start"]) for s in r.json()["slots"]}
    assert offered
    for k in range(8 * 4, 16 * 4):
        start = tomorrow_at(0) + timedelta(minutes=15 * k)
        answer = await _why(client, config, start)
        assert answer["offered"] == (start in offered), (start, answer)


async def test_seats_full_and_a_suspended_provider(client, schedules, book, admin_headers):
    klass = await schedules.add_service(kind="class", capacity=3, duration_minutes=60)
    assert (await book(klass, tomorrow_at(18), seats=2)).status_code == 201
    assert (await _why(client, klass, tomorrow_at(18), seats=1))["offered"] is True
    assert (await _why(client, klass, tomorrow_at(18), seats=2))["reason"] == "full"
    assert (await _why(client, klass, tomorrow_at(17)))["reason"] == "not_scheduled"
    r = await client.patch(
        f"/api/v1/providers/{klass.provider_id}", json={"suspended": True}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    assert (await _why(client, klass, tomorrow_at(18)))["reason"] == "provider_suspended"


async def test_bad_questions_are_4xx_naming_the_field(client, schedules):
    config = await schedules.add_service()
    base = {"service_id": str(config.service.id), "start": tomorrow_at(10).isoformat()}
    cases = {
        "start": {**base, "start": "2027-01-01T10:00:00"},  # no offset
        "seats": {**base, "seats": "0"},
        "service_id": {**base, "service_id": "x\u0000"},
    }
    for field, params in cases.items():
        r = await client.get("/api/v1/availability/explain", params=params)
        assert r.status_code == 422, (field, r.text)
        assert field in r.json()["errors"][0]["field"]
    r = await client.get(
        "/api/v1/availability/explain", params={**base, "service_id": str(uuid.uuid4())}
    )
    assert r.status_code == 404
