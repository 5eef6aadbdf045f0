"""Every slot listing offers can be booked at that moment, whatever the kind.

A provider is one person: an event or class occurrence that overlaps their confirmed
one-to-one time cannot take a seat (the exclusion constraint refuses it), so listing
must not offer it. The walk below books offered slots one after another, picked at
random across a one-to-one service, an event and a class of one provider, and
expects every booking of an offered slot to succeed.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from calisera.providers.schemas import ScheduleConfig

from .conftest import booking_body, tomorrow_at


async def _offered(client: Any, config: ScheduleConfig, day: str) -> list[dict[str, Any]]:
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": str(config.service.id), "start": day, "end": day, "timezone": "UTC"},
    )
    assert r.status_code == 200, r.text
    slots: list[dict[str, Any]] = r.json()["slots"]
    return slots


async def test_an_event_over_confirmed_one_to_one_time_is_not_offered_nor_booked(
    client, schedules, book
):
    simple = await schedules.add_service(duration_minutes=60)
    assert (await book(simple, tomorrow_at(10))).status_code == 201
    event = await schedules.add_service(
        provider_id=simple.provider_id,
        kind="event",
        capacity=5,
        duration_minutes=60,
        starts_at=tomorrow_at(10, 30),
    )
    day = tomorrow_at(10).date().isoformat()
    assert await _offered(client, event, day) == []
    r = await book(event, tomorrow_at(10, 30))
    assert r.status_code == 409
    assert r.json()["reason"] == "taken"


async def test_every_offered_slot_of_any_kind_can_be_booked_at_that_moment(
    client, schedules, database_url
):
    rng = random.Random(12)
    simple = await schedules.add_service(duration_minutes=45, slot_interval_minutes=15)
    provider = simple.provider_id
    # one-to-one time booked first; the event and class added later overlap some of it
    day_at = [tomorrow_at(h, days=d) for d in (1, 2) for h in (9, 17)]
    for start in [*day_at, tomorrow_at(17, 45, days=3)]:
        r = await client.post("/api/v1/bookings", json=booking_body(simple, start))
        assert r.status_code == 201, r.text
    # added after the one-to-one bookings: the class meets daily at 18:00 (day 3's
    # overlaps 17:45-18:30), the events at 09:30 of days 1 and 2 overlap 09:00-09:45
    klass = await schedules.add_service(
        provider_id=provider, kind="class", capacity=3, duration_minutes=60
    )
    events = [
        await schedules.add_service(
            provider_id=provider,
            kind="event",
            capacity=2,
            duration_minutes=60,
            starts_at=start,
        )
        for start in (tomorrow_at(9, 30), tomorrow_at(9, 30, days=2), tomorrow_at(12, days=3))
    ]
    configs = [simple, klass, *events]
    days = [tomorrow_at(0, days=d).date().isoformat() for d in (1, 2, 3)]
    booked = 0
    for _ in range(120):
        if booked == 30:
            break
        config = rng.choice(configs)
        day = rng.choice(days)
        offered = await _offered(client, config, day)
        if not offered:
            continue
        slot = rng.choice(offered)
        r = await client.post(
            "/api/v1/bookings", json=booking_body(config, datetime.fromisoformat(slot["start"]))
        )
        assert r.status_code == 201, (config.service.kind, slot, r.text)
        booked += 1
    assert booked >= 20
    occurrence_days = await _offered(client, klass, days[2])
    assert occurrence_days == []  # day 3's class overlaps the 17:45 booking
