"""Listing and analytics agree across daylight-saving changes: one scheduling truth.

A provider's hours and classes are written through the providers API; the listing
offers slots from them, and the providers' outbox events reach the analytics consumer.
On the days around the next spring-forward and fall-back of each zone, analytics'
available minutes must be the minutes the listing's one-to-one slots fill, and its
seats offered the seats of the class occurrences the listing offers.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from calisera.analytics.consumers import consumer
from calisera.core.consumers import deliver
from calisera.core.database import Database, libpq_url
from calisera.core.events import EventEnvelope

ZONES = ["Europe/Berlin", "America/New_York"]
HOURS = [{"start": "01:00", "end": "02:30"}, {"start": "03:00", "end": "05:00"}]
"""Ends inside a repeated hour; starts at the end of a skipped one (both zones)."""
SLOT_MINUTES = 30
CLASS_TIMES = ["01:30", "02:30"]
"""02:30 is skipped in both zones' spring; 01:30 (New York) and 02:30 (Berlin) repeat."""
CAPACITY = 4
CHANGE_DAY = {
    ("Europe/Berlin", "spring"): (60 + 120, 1),
    ("Europe/Berlin", "fall"): (90 + 30 + 120, 2),
    ("America/New_York", "spring"): (60 + 120, 1),
    ("America/New_York", "fall"): (60 + 60 + 30 + 120, 2),
}
"""(available minutes, classes) on the change day, worked out by hand; ordinary days
have 90 + 120 minutes and 2 classes."""


def next_changes(zone: str, count: int = 2) -> list[tuple[date, str]]:
    """The next ``count`` provider-local dates on which the zone's offset changes, each
    with ``spring`` (clocks go forward) or ``fall``."""
    tz = ZoneInfo(zone)
    found: list[tuple[date, str]] = []
    day = datetime.now(UTC).date() + timedelta(days=2)
    while len(found) < count:
        before = datetime.combine(day, time(0), tz).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0), tz).utcoffset()
        assert before is not None and after is not None
        if before != after:
            found.append((day, "spring" if after > before else "fall"))
        day += timedelta(days=1)
    return found


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=2, max_overflow=0)
    yield database
    await database.dispose()


async def post(client: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    r = await client.post(path, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def make_provider(client: Any, headers: dict[str, str], zone: str) -> str:
    provider = await post(
        client,
        "/api/v1/providers",
        {
            "slug": f"dst-{uuid.uuid4().hex[:10]}",
            "name": "Night Studio",
            "timezone": zone,
            "owner_email": "owner@example.com",
        },
        headers,
    )
    return str(provider["id"])


async def slots(client: Any, service_id: str, first: date, last: date) -> list[dict[str, Any]]:
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": service_id, "start": str(first), "end": str(last)},
    )
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["slots"]
    return found


def per_local_day(found: list[dict[str, Any]]) -> Counter[date]:
    """Slots per provider-local date (starts carry the provider zone's offset)."""
    return Counter(date.fromisoformat(s["start"][:10]) for s in found)


async def feed_provider_events(database_url: str, db: Database, settings: Any) -> None:
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute("SELECT envelope FROM providers.outbox ORDER BY seq").fetchall()
    analytics = consumer(settings)
    for (envelope,) in rows:
        await deliver(analytics, db.sessionmaker, EventEnvelope.model_validate(envelope))


async def analytics_days(
    client: Any, headers: dict[str, str], provider_id: str, first: date, last: date
) -> dict[date, dict[str, Any]]:
    r = await client.get(
        f"/api/v1/analytics/providers/{provider_id}/summary",
        params={"from": str(first), "to": str(last)},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return {date.fromisoformat(d["date"]): d for d in r.json()["by_day"]}


@pytest.mark.parametrize("zone", ZONES)
async def test_available_minutes_and_seats_offered_match_the_listing_across_dst(
    zone: str,
    client: Any,
    admin_headers: dict[str, str],
    database_url: str,
    db: Database,
    settings: Any,
) -> None:
    today = datetime.now(UTC).date()
    hours_provider = await make_provider(client, admin_headers, zone)
    r = await client.put(
        f"/api/v1/providers/{hours_provider}/availability",
        json={"weekly": [{"weekday": d, **h} for d in range(7) for h in HOURS]},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    simple = await post(
        client,
        f"/api/v1/providers/{hours_provider}/services",
        {
            "name": "Night consult",
            "kind": "simple",
            "duration_minutes": SLOT_MINUTES,
            "min_notice_minutes": 0,
            "booking_window_days": 730,
        },
        admin_headers,
    )
    # Classes block one-to-one slots, so they belong to a provider of their own.
    class_provider = await make_provider(client, admin_headers, zone)
    classes = [
        await post(
            client,
            f"/api/v1/providers/{class_provider}/services",
            {
                "name": f"Night yoga {at}",
                "kind": "class",
                "duration_minutes": 60,
                "capacity": CAPACITY,
                "min_notice_minutes": 0,
                "booking_window_days": 730,
                "recurrence": {"rrule": "FREQ=DAILY", "start_time": at, "starts_on": str(today)},
            },
            admin_headers,
        )
        for at in CLASS_TIMES
    ]
    await feed_provider_events(database_url, db, settings)

    for change, season in next_changes(zone):
        first, last = change - timedelta(days=1), change + timedelta(days=1)
        listed_slots = per_local_day(await slots(client, simple["id"], first, last))
        listed_seats: Counter[date] = Counter()
        for s in classes:
            for d, n in per_local_day(await slots(client, s["id"], first, last)).items():
                listed_seats[d] += n * CAPACITY
        hours_days = await analytics_days(client, admin_headers, hours_provider, first, last)
        class_days = await analytics_days(client, admin_headers, class_provider, first, last)
        assert sorted(hours_days) == sorted(class_days) == [first, change, last]
        for d in (first, change, last):
            assert hours_days[d]["available_minutes"] == SLOT_MINUTES * listed_slots[d], (zone, d)
            assert class_days[d]["seats_offered"] == listed_seats[d], (zone, d)
        minutes, count = CHANGE_DAY[(zone, season)]
        assert hours_days[change]["available_minutes"] == minutes
        assert class_days[change]["seats_offered"] == count * CAPACITY
        assert hours_days[first]["available_minutes"] == 90 + 120
        assert class_days[first]["seats_offered"] == 2 * CAPACITY
