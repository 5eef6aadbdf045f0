"""Analytics on real PostgreSQL: events in through ``deliver``, numbers out through the API.

Generated event streams are delivered shuffled and with duplicates; the dashboard must
equal a straightforward reference computation, and a rebuild must change nothing.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from calisera.analytics.consumers import consumer
from calisera.analytics.models import booking_observations, daily_buckets, daily_stats
from calisera.cli import app as cli_app
from calisera.core.consumers import Consumer, deliver
from calisera.core.database import Database
from calisera.core.events import EventEnvelope
from tests.integration.analytics_stream import Reference, World, generate, producer_event

FIRST, LAST = date(2027, 3, 1), date(2027, 3, 31)
PERIOD = {"from": FIRST.isoformat(), "to": LAST.isoformat()}


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=2, max_overflow=0)
    yield database
    await database.dispose()


@pytest.fixture
def analytics(settings: Any) -> Consumer:
    return consumer(settings)


async def feed(analytics: Consumer, db: Database, events: list[EventEnvelope], seed: int) -> int:
    """Deliver ``events`` shuffled, some twice, some re-sent under a new event id."""
    rng = random.Random(seed)
    stream = list(events)
    stream += rng.sample(events, len(events) // 4)
    stream += [e.model_copy(update={"id": uuid.uuid4()}) for e in rng.sample(events, 5)]
    rng.shuffle(stream)
    handled = 0
    for event in stream:
        handled += bool(await deliver(analytics, db.sessionmaker, event))
    return handled


async def tables(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with db.sessionmaker() as session:
        out = {}
        for table in (daily_stats, daily_buckets):
            rows = await session.execute(sa.select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
        return out


async def dashboard(client: Any, headers: dict[str, str], provider: uuid.UUID) -> dict[str, Any]:
    base = f"/api/v1/analytics/providers/{provider}"
    out = {}
    for name, params in [
        ("summary", PERIOD),
        ("services", PERIOD),
        ("heatmap", PERIOD),
        ("customers", PERIOD),
        ("week", PERIOD | {"metric": "bookings_created", "interval": "week"}),
        ("util", PERIOD | {"metric": "utilization", "interval": "month"}),
        ("seats", PERIOD | {"metric": "seat_utilization", "interval": "day"}),
    ]:
        path = name if name in ("summary", "services", "heatmap", "customers") else "timeseries"
        response = await client.get(f"{base}/{path}", params=params, headers=headers)
        assert response.status_code == 200, response.text
        out[name] = response.json()
    return out


async def rebuild_command(args: list[str], database_url: str) -> Result:
    """``calisera analytics rebuild ...`` (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(
        CliRunner().invoke,
        cli_app,
        ["analytics", "rebuild", *args],
        env={"DATABASE_URL": database_url},
    )


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def assert_matches_reference(world: World, board: dict[str, Any]) -> None:
    ref = Reference(world)
    daily = ref.daily(FIRST, LAST)
    summary = board["summary"]
    total: dict[str, int] = {}
    for counts in daily.values():
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    for key in (
        "bookings_created",
        "cancelled",
        "rescheduled",
        "completed",
        "no_show",
        "bookings",
        "seats_booked",
        "seats_offered",
        "available_minutes",
    ):
        assert summary[key] == total.get(key, 0), key
    assert summary["bookings_created"] > 10 and summary["cancelled"] > 0
    assert summary["utilization"] == ratio(total["simple_minutes"], total["available_minutes"])
    assert summary["seat_utilization"] == ratio(
        total["offered_seats_booked"], total["seats_offered"]
    )
    assert summary["cancellation_rate"] == ratio(total["cancelled"], total["bookings_created"])
    for row in summary["by_day"]:
        expected = daily[date.fromisoformat(row["date"])]
        for key in (
            "bookings_created",
            "cancelled",
            "completed",
            "no_show",
            "rescheduled",
            "available_minutes",
            "seats_offered",
        ):
            assert row[key] == expected[key], (row["date"], key)
        assert row["utilization"] == ratio(
            expected["simple_minutes"], expected["available_minutes"]
        )
    new, returning = ref.customers(FIRST, LAST)
    assert summary["customers"]["new"] == new
    assert summary["customers"]["returning"] == returning
    assert new + returning > 0
    by_service = {s["service_id"]: s for s in summary["by_service"]}
    for s in world.services:
        created = sum(
            1 for b in world.bookings if b.service is s and FIRST <= ref.day(b.created_at) <= LAST
        )
        assert by_service.get(str(s["id"]), {}).get("bookings_created", 0) == created
        if str(s["id"]) in by_service:
            assert by_service[str(s["id"])]["name"] == s["name"]  # the newer version won
    weeks = {p["start"]: p["value"] for p in board["week"]["points"]}
    for start, value in weeks.items():
        week_start = date.fromisoformat(start)
        expected = sum(
            daily[d]["bookings_created"]
            for d in daily
            if d >= week_start and d < week_start + timedelta(days=7)
        )
        assert value == expected
    assert board["util"]["points"] == [{"start": "2027-03-01", "value": summary["utilization"]}]
    heat = board["heatmap"]
    assert sum(c["bookings"] for c in heat["cells"]) == total["bookings"]
    held = [
        b for b in world.bookings if b.final != "cancelled" and FIRST <= ref.day(b.start) <= LAST
    ]
    for cell in heat["cells"]:
        assert cell["bookings"] == sum(
            1
            for b in held
            if b.start.astimezone(ref.zone).weekday() == cell["weekday"]
            and b.start.astimezone(ref.zone).hour == cell["hour"]
        )
    customers = board["customers"]
    assert (customers["new"], customers["returning"]) == (new, returning)
    assert sum(c["customers"] for c in customers["countries"]) == new + returning


@pytest.mark.parametrize(("seed", "timezone"), [(7, "Europe/Berlin"), (11, "America/New_York")])
async def test_generated_stream_matches_reference_and_rebuild_changes_nothing(
    seed: int,
    timezone: str,
    analytics: Consumer,
    db: Database,
    client: Any,
    admin_headers: dict[str, str],
    database_url: str,
) -> None:
    world = generate(seed, timezone=timezone, bookings=45)
    other = generate(seed + 1, timezone="Asia/Tokyo", bookings=10)  # must not leak in
    handled = await feed(analytics, db, world.events + other.events, seed)
    assert handled == len(world.events) + len(other.events) + 5  # + the re-sent copies

    board = await dashboard(client, admin_headers, world.provider_id)
    assert_matches_reference(world, board)
    before = await tables(db)

    result = await rebuild_command([], database_url)
    assert result.exit_code == 0, result.output
    assert f"rebuilt {len(world.bookings) + len(other.bookings)} bookings" in result.output
    assert await tables(db) == before
    assert await dashboard(client, admin_headers, world.provider_id) == board

    result = await rebuild_command(["--provider", str(other.provider_id)], database_url)
    assert result.exit_code == 0, result.output
    assert await tables(db) == before


async def test_rebuild_repairs_damaged_aggregates(
    analytics: Consumer, db: Database, client: Any, admin_headers: dict[str, str]
) -> None:
    from calisera.analytics.rebuild import rebuild_aggregates

    world = generate(3, bookings=20)
    await feed(analytics, db, world.events, 3)
    board = await dashboard(client, admin_headers, world.provider_id)
    async with db.sessionmaker() as session, session.begin():
        await session.execute(sa.update(daily_stats).values(created=daily_stats.c.created + 5))
        await session.execute(sa.delete(daily_buckets))
    assert await dashboard(client, admin_headers, world.provider_id) != board
    async with db.sessionmaker() as session, session.begin():
        await rebuild_aggregates(session, world.provider_id)
    assert await dashboard(client, admin_headers, world.provider_id) == board


def booking_event(
    type_: str,
    version: int,
    at: datetime,
    booking: uuid.UUID,
    provider: uuid.UUID,
    service: uuid.UUID,
    start: datetime,
    status: str,
    **extra: Any,
) -> EventEnvelope:
    data = {
        "booking_id": str(booking),
        "service_id": str(service),
        "service_kind": "simple",
        "service_name": "Consultation",
        "provider_id": str(provider),
        "provider_name": "Studio",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=45)).isoformat(),
        "seats": 1,
        "status": status,
        "customer": {"name": "Ann", "email": "ann@example.com", "phone": None},
        "provider_timezone": "Europe/Lisbon",
        "created_at": datetime(2027, 3, 2, 9, tzinfo=UTC).isoformat(),
        "actor": "customer",
        **extra,
    }
    return producer_event(type_, booking, version, at, provider, data)


async def test_cancellation_before_creation_and_lifecycle_numbers(
    analytics: Consumer, db: Database, client: Any, admin_headers: dict[str, str]
) -> None:
    provider, service_id = uuid.uuid4(), uuid.uuid4()
    start = datetime(2027, 3, 5, 10, tzinfo=UTC)
    b1, b2, b3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    created = datetime(2027, 3, 2, 9, tzinfo=UTC)
    events = [
        # b1: cancelled, but the cancellation arrives first
        booking_event(
            "booking.cancelled",
            2,
            datetime(2027, 3, 4, 10, tzinfo=UTC),
            b1,
            provider,
            service_id,
            start,
            "cancelled",
            reason="ill",
            actor="customer",
        ),
        booking_event("booking.created", 1, created, b1, provider, service_id, start, "confirmed"),
        # b2: completed; b3: no-show, completion of b2 arrives before its reschedule
        booking_event(
            "booking.completed",
            3,
            start + timedelta(days=1, hours=1),
            b2,
            provider,
            service_id,
            start + timedelta(days=1),
            "completed",
        ),
        booking_event("booking.created", 1, created, b2, provider, service_id, start, "confirmed"),
        booking_event(
            "booking.rescheduled",
            2,
            created + timedelta(hours=1),
            b2,
            provider,
            service_id,
            start + timedelta(days=1),
            "confirmed",
            previous_start=start.isoformat(),
        ),
        booking_event("booking.created", 1, created, b3, provider, service_id, start, "confirmed"),
        booking_event(
            "booking.no_show",
            2,
            start + timedelta(hours=1),
            b3,
            provider,
            service_id,
            start,
            "no_show",
        ),
    ]
    for event in events:
        assert await deliver(analytics, db.sessionmaker, event)
        assert not await deliver(analytics, db.sessionmaker, event)
    response = await client.get(
        f"/api/v1/analytics/providers/{provider}/summary", params=PERIOD, headers=admin_headers
    )
    assert response.status_code == 200
    s = response.json()
    assert (s["from"], s["to"], s["timezone"]) == ("2027-03-01", "2027-03-31", "Europe/Lisbon")
    assert (s["bookings_created"], s["cancelled"], s["completed"], s["no_show"]) == (3, 1, 1, 1)
    assert s["rescheduled"] == 1
    assert s["cancellation_rate"] == round(1 / 3, 4)
    assert s["booked_minutes"] == 90
    assert s["utilization"] is None  # no availability known yet
    assert s["customers"] == {"new": 1, "returning": 0, "repeat_rate": 1.0}
    assert s["cancellation_notice"]["1d-3d"] == 1  # exactly one day before
    days = {d["date"]: d for d in s["by_day"]}
    assert days["2027-03-02"]["bookings_created"] == 3
    assert days["2027-03-04"]["cancelled"] == 1
    assert days["2027-03-06"]["completed"] == 1
    assert days["2027-03-05"]["no_show"] == 1
    async with db.sessionmaker() as session:
        stored = (await session.execute(sa.select(booking_observations.c.observation))).all()
    assert stored and not any("ann@example.com" in str(row) for row in stored)

    availability = producer_event(
        "availability.updated",
        provider,
        4,
        datetime(2027, 3, 4, tzinfo=UTC),
        provider,
        {
            "weekly": [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)],
            "overrides": [],
            "time_off": [],
            "timezone": "Europe/Lisbon",
        },
    )
    await deliver(analytics, db.sessionmaker, availability)
    response = await client.get(
        f"/api/v1/analytics/providers/{provider}/timeseries",
        params={"from": "2027-03-05", "to": "2027-03-06", "metric": "utilization"},
        headers=admin_headers,
    )
    assert response.json()["points"] == [
        {"start": "2027-03-05", "value": 0.25},  # 45 of 180 minutes
        {"start": "2027-03-06", "value": None},  # Saturday: no hours
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2027-02-30"}, "from"),
        ({"to": "tomorrow"}, "to"),
        ({"from": "2027-03-10", "to": "2027-03-01"}, "from"),
        ({"from": "2026-01-01", "to": "2027-03-01"}, "to"),
        ({"metric": "revenue"}, "metric"),
        ({"interval": "hour"}, "interval"),
    ],
)
async def test_bad_queries_are_422_naming_the_field(
    client: Any, admin_headers: dict[str, str], params: dict[str, str], field: str
) -> None:
    response = await client.get(
        f"/api/v1/analytics/providers/{uuid.uuid4()}/timeseries",
        params=params,
        headers=admin_headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_analytics_needs_credentials(client: Any) -> None:
    response = await client.get(f"/api/v1/analytics/providers/{uuid.uuid4()}/summary")
    assert response.status_code == 401


def test_migration_matches_the_models_and_downgrades(database_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from calisera.analytics.models import metadata
    from calisera.core.migrations import alembic_config, sync_engine, upgrade_all

    engine = sync_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": lambda name, type_, _: type_ != "schema" or name == "analytics",
                    "compare_type": True,
                },
            )
            diff = [
                d
                for d in compare_metadata(context, metadata)
                if not (d[0] == "remove_table" and d[1].name == "alembic_version")
            ]
            assert diff == []
            command.downgrade(alembic_config("analytics", conn), "base")
            conn.commit()
            tables = conn.execute(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'analytics'")
            ).scalar()
            assert tables == 1  # only alembic_version is left
    finally:
        engine.dispose()
    upgrade_all(database_url, ["analytics"])


async def test_older_availability_and_service_events_never_override_newer_ones(
    analytics: Consumer, db: Database, client: Any, admin_headers: dict[str, str]
) -> None:
    provider, yoga = uuid.uuid4(), uuid.uuid4()

    def envelope(type_: str, aggregate: uuid.UUID, version: int, data: dict[str, Any]) -> Any:
        at = datetime(2027, 3, 15, 12, tzinfo=UTC)
        return producer_event(type_, aggregate, version, at, provider, data)

    def hours(end: str) -> dict[str, Any]:
        return {
            "weekly": [{"weekday": d, "start": "09:00", "end": end} for d in range(5)],
            "overrides": [
                {"date": "2027-03-03", "intervals": [{"start": "10:00", "end": "11:00"}]}
            ],
            "time_off": [],
            "timezone": "America/Chicago",
        }

    yoga_data = {
        "id": str(yoga),
        "provider_id": str(provider),
        "name": "Yoga",
        "kind": "class",
        "capacity": 8,
        "duration_minutes": 60,
        "recurrence": {
            "rrule": "FREQ=WEEKLY;BYDAY=MO",
            "start_time": "07:00",
            "starts_on": "2027-03-01",
        },
    }
    for e in [
        envelope("availability.updated", provider, 5, hours("17:00")),
        envelope("availability.updated", provider, 4, hours("10:00")),  # older: ignored
        envelope("service.archived", yoga, 3, yoga_data | {"active": False}),
        envelope("service.updated", yoga, 2, yoga_data),
        envelope("service.created", yoga, 1, yoga_data | {"capacity": 99}),  # older: ignored
    ]:
        assert await deliver(analytics, db.sessionmaker, e)
    response = await client.get(
        f"/api/v1/analytics/providers/{provider}/summary",
        params={"from": "2027-03-01", "to": "2027-03-07"},
        headers=admin_headers,
    )
    s = response.json()
    assert s["timezone"] == "America/Chicago"
    days = {d["date"]: d for d in s["by_day"]}
    assert days["2027-03-01"]["available_minutes"] == 480
    assert days["2027-03-03"]["available_minutes"] == 60  # the override
    assert days["2027-03-06"]["available_minutes"] == 0
    assert s["available_minutes"] == 4 * 480 + 60
    # the class ran on Mondays until it was archived on 15 March
    response = await client.get(
        f"/api/v1/analytics/providers/{provider}/timeseries",
        params={
            "from": "2027-03-01",
            "to": "2027-03-31",
            "metric": "seats_offered",
            "interval": "week",
        },
        headers=admin_headers,
    )
    assert [p["value"] for p in response.json()["points"]] == [8, 8, 0, 0, 0]


async def test_providers_outbox_events_feed_hours_and_seats_and_only_the_owner_sees_them(
    analytics: Consumer,
    db: Database,
    client: Any,
    admin_headers: dict[str, str],
    auth_headers: Any,
) -> None:
    """The real providers service writes the events; analytics replays its outbox."""
    response = await client.post(
        "/api/v1/providers",
        json={
            "slug": "studio-analytics",
            "name": "Studio",
            "timezone": "Europe/Berlin",
            "owner_email": "Owner@Example.com",
        },
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    provider = response.json()["id"]
    base = f"/api/v1/providers/{provider}"
    yoga = {
        "name": "Yoga",
        "kind": "class",
        "duration_minutes": 60,
        "capacity": 12,
        "recurrence": {
            "rrule": "FREQ=WEEKLY;BYDAY=TU,TH",
            "start_time": "18:00",
            "starts_on": "2027-03-01",
        },
    }
    response = await client.post(f"{base}/services", json=yoga, headers=admin_headers)
    assert response.status_code == 201, response.text
    hours = {
        "weekly": [{"weekday": d, "start": "09:00", "end": "13:00"} for d in range(5)],
        "overrides": [{"date": "2027-03-02", "intervals": []}],
        "time_off": [],
    }
    response = await client.put(f"{base}/availability", json=hours, headers=admin_headers)
    assert response.status_code == 200, response.text

    async with db.sessionmaker() as session:
        rows = (await session.execute(sa.text("SELECT envelope FROM providers.outbox"))).all()
    envelopes = [EventEnvelope.model_validate(r[0]) for r in rows]
    assert {e.type for e in envelopes} >= {
        "provider.created",
        "service.created",
        "availability.updated",
    }
    for envelope in reversed(envelopes):  # newest first: the order must not matter
        assert await deliver(analytics, db.sessionmaker, envelope)

    week = {"from": "2027-03-01", "to": "2027-03-07"}
    owner = await client.get(
        f"/api/v1/analytics/providers/{provider}/summary",
        params=week,
        headers=auth_headers("owner@example.com"),
    )
    assert owner.status_code == 200, owner.text
    s = owner.json()
    assert s["timezone"] == "Europe/Berlin"
    assert s["available_minutes"] == 4 * 240  # Tuesday 2 March is off
    assert s["seats_offered"] == 24  # Tuesday and Thursday classes, 12 seats each

    stranger = await client.get(
        f"/api/v1/analytics/providers/{provider}/summary",
        params=week,
        headers=auth_headers("someone@example.com"),
    )
    assert stranger.status_code == 404
    unknown = await client.get(
        f"/api/v1/analytics/providers/{uuid.uuid4()}/heatmap",
        headers=auth_headers("owner@example.com"),
    )
    assert unknown.status_code == 404


async def test_real_bookings_and_providers_outboxes_give_the_right_summary(
    analytics: Consumer,
    db: Database,
    client: Any,
    admin_headers: dict[str, str],
    auth_headers: Any,
) -> None:
    """Bookings made, moved and cancelled through the real APIs; their outbox events
    (newest first) through the consumer; the owner's dashboard counts them."""
    from zoneinfo import ZoneInfo

    from calisera.analytics.rebuild import rebuild_aggregates

    berlin = ZoneInfo("Europe/Berlin")
    owner = auth_headers("owner@example.com")
    r = await client.post(
        "/api/v1/providers",
        json={
            "slug": f"an-{uuid.uuid4().hex[:8]}",
            "name": "Studio",
            "timezone": "Europe/Berlin",
            "owner_email": "owner@example.com",
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    provider = r.json()["id"]
    r = await client.put(
        f"/api/v1/providers/{provider}/availability",
        json={
            "weekly": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(7)],
            "overrides": [],
            "time_off": [],
        },
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/providers/{provider}/services",
        json={
            "name": "Coaching",
            "kind": "simple",
            "duration_minutes": 60,
            "min_notice_minutes": 0,
            "booking_window_days": 365,
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    service_id = r.json()["id"]

    today = datetime.now(berlin).date()
    day = today + timedelta(days=3)

    def at(hour: int, d: date = day) -> str:
        return datetime.combine(d, datetime.min.time().replace(hour=hour), berlin).isoformat()

    ids = []
    for hour, email, phone in [
        (10, "ann@example.com", None),
        (12, "ANN@example.com", None),
        (14, "bob@example.com", "+44 20 7946 0958"),
    ]:
        r = await client.post(
            "/api/v1/bookings",
            json={
                "service_id": service_id,
                "start": at(hour),
                "customer": {
                    "name": "C",
                    "email": email,
                    "phone": phone,
                    "timezone": "Europe/London",
                },
            },
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await client.post(f"/api/v1/bookings/{ids[0]}/cancel", json={}, headers=owner)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/bookings/{ids[1]}/reschedule",
        json={"start": at(10, day + timedelta(days=1))},
        headers=owner,
    )
    assert r.status_code == 200, r.text

    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                sa.text(
                    "SELECT envelope FROM providers.outbox UNION ALL "
                    "SELECT envelope FROM bookings.outbox"
                )
            )
        ).all()
    for row in reversed(rows):
        assert await deliver(analytics, db.sessionmaker, EventEnvelope.model_validate(row[0]))

    period = {"from": today.isoformat(), "to": (today + timedelta(days=9)).isoformat()}
    base = f"/api/v1/analytics/providers/{provider}"
    r = await client.get(f"{base}/summary", params=period, headers=owner)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["bookings_created"], s["cancelled"], s["rescheduled"]) == (3, 1, 1)
    assert (s["bookings"], s["booked_minutes"], s["available_minutes"]) == (2, 120, 10 * 480)
    assert s["utilization"] == round(120 / 4800, 4)
    assert s["customers"] == {"new": 2, "returning": 0, "repeat_rate": 0.5}
    assert [x["name"] for x in s["by_service"]] == ["Coaching"]
    r = await client.get(f"{base}/customers", params=period, headers=owner)
    assert {c["country"]: c["customers"] for c in r.json()["countries"]} == {"GB": 1, "unknown": 1}
    r = await client.get(f"{base}/heatmap", params=period, headers=owner)
    assert r.json()["busiest_hour"] in (10, 14)
    assert sum(r.json()["by_hour"]) == 2

    async with db.sessionmaker() as session, session.begin():
        await rebuild_aggregates(session)
    r = await client.get(f"{base}/summary", params=period, headers=owner)
    assert r.json() == s
