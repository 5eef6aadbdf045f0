"""GET /api/v1/availability end to end: real providers and bookings services in one app."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.listing.consumers import consumer

BERLIN_WEEK = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(7)]


async def make_service(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    timezone: str = "Europe/Berlin",
    weekly: list[dict[str, Any]] | None = None,
    **service: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    slug = f"listing-{uuid.uuid4().hex[:10]}"
    r = await client.post(
        "/api/v1/providers",
        json={
            "slug": slug,
            "name": "Listing Studio",
            "timezone": timezone,
            "owner_email": "owner@example.com",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    provider = r.json()
    r = await client.put(
        f"/api/v1/providers/{provider['id']}/availability",
        json={"weekly": weekly if weekly is not None else BERLIN_WEEK, "overrides": []},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = {"name": "Consultation", "kind": "simple", "duration_minutes": 60, **service}
    body.setdefault("min_notice_minutes", 0)
    r = await client.post(
        f"/api/v1/providers/{provider['id']}/services", json=body, headers=headers
    )
    assert r.status_code == 201, r.text
    return provider, r.json()


def next_week() -> tuple[date, date]:
    first = datetime.now(UTC).date() + timedelta(days=7)
    return first, first + timedelta(days=6)


async def slots(client: httpx.AsyncClient, service_id: str, **params: str) -> list[dict]:
    first, last = next_week()
    query = {"service_id": service_id, "start": str(first), "end": str(last), **params}
    r = await client.get("/api/v1/availability", params=query)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["service_id"] == service_id
    return body["slots"]


async def test_slots_follow_the_weekly_hours_in_the_provider_zone(client, admin_headers):
    _, service = await make_service(client, admin_headers)
    found = await slots(client, service["id"])
    assert len(found) == 7 * 8
    assert {s["start"][11:19] for s in found} == {f"{h:02d}:00:00" for h in range(9, 17)}
    assert all(s["seats_left"] == 1 for s in found)
    first, _ = next_week()
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": service["id"], "start": str(first), "end": str(first)},
    )
    assert r.json()["timezone"] == "Europe/Berlin"


async def test_timezone_parameter_changes_offsets_not_instants(client, admin_headers):
    _, service = await make_service(client, admin_headers)
    berlin = await slots(client, service["id"])
    first, last = next_week()
    r = await client.get(
        "/api/v1/availability",
        params={
            "service_id": service["id"],
            "start": str(first - timedelta(days=1)),
            "end": str(last + timedelta(days=1)),
            "timezone": "Asia/Kolkata",
        },
    )
    kolkata = r.json()["slots"]
    assert {datetime.fromisoformat(s["start"]) for s in berlin} <= {
        datetime.fromisoformat(s["start"]) for s in kolkata
    }
    assert all(s["start"].endswith("+05:30") for s in kolkata)
    assert r.json()["timezone"] == "Asia/Kolkata"


async def test_a_booked_slot_is_not_offered_again_at_once(client, admin_headers):
    _, service = await make_service(client, admin_headers)
    before = await slots(client, service["id"])
    chosen = before[3]
    r = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": service["id"],
            "start": chosen["start"],
            "customer": {"name": "Ada", "email": "ada@example.com"},
        },
    )
    assert r.status_code == 201, r.text
    after = await slots(client, service["id"])
    assert chosen["start"] not in {s["start"] for s in after}
    assert len(after) == len(before) - 1
    r = await client.post(
        f"/api/v1/bookings/{r.json()['id']}/cancel",
        json={},
        headers={"X-Manage-Token": r.json()["manage_token"]},
    )
    assert r.status_code == 200, r.text
    assert chosen["start"] in {s["start"] for s in await slots(client, service["id"])}


async def test_buffers_remove_neighbouring_slots(client, admin_headers):
    _, service = await make_service(
        client, admin_headers, slot_interval_minutes=30, buffer_after_minutes=30
    )
    before = await slots(client, service["id"])
    chosen = before[4]
    r = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": service["id"],
            "start": chosen["start"],
            "customer": {"name": "Ada", "email": "ada@example.com"},
        },
    )
    assert r.status_code == 201, r.text
    start = datetime.fromisoformat(chosen["start"])
    gone = {
        s["start"]
        for s in before
        if abs(datetime.fromisoformat(s["start"]) - start) < timedelta(hours=1, minutes=30)
    }
    after = {s["start"] for s in await slots(client, service["id"])}
    assert not (gone & after)


async def test_event_service_shows_seats_left(client, admin_headers):
    provider, _ = await make_service(client, admin_headers)
    starts_at = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=8)
    r = await client.post(
        f"/api/v1/providers/{provider['id']}/services",
        json={
            "name": "Workshop",
            "kind": "event",
            "duration_minutes": 120,
            "capacity": 5,
            "min_notice_minutes": 0,
            "starts_at": starts_at.isoformat(),
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    event = r.json()
    found = await slots(client, event["id"], timezone="UTC")
    assert [(s["start"], s["seats_left"]) for s in found] == [
        (starts_at.isoformat().replace("+00:00", "+00:00"), 5)
    ]
    r = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": event["id"],
            "start": found[0]["start"],
            "seats": 2,
            "customer": {"name": "Ada", "email": "ada@example.com"},
        },
    )
    assert r.status_code == 201, r.text
    assert [s["seats_left"] for s in await slots(client, event["id"], timezone="UTC")] == [3]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2027-01-01", "end": "2027-01-02"}, "service_id"),
        ({"service_id": "nope", "start": "2027-01-01", "end": "2027-01-02"}, "service_id"),
        ({"service_id": str(uuid.uuid4()), "end": "2027-01-02"}, "start"),
        ({"service_id": str(uuid.uuid4()), "start": "2027-13-01", "end": "2027-01-02"}, "start"),
        ({"service_id": str(uuid.uuid4()), "start": "01/02/2027", "end": "2027-01-02"}, "start"),
        ({"service_id": str(uuid.uuid4()), "start": "2027-01-01", "end": "2027-02-30"}, "end"),
        ({"service_id": str(uuid.uuid4()), "start": "2027-01-05", "end": "2027-01-02"}, "end"),
        ({"service_id": str(uuid.uuid4()), "start": "2027-01-01", "end": "2027-03-04"}, "end"),
        (
            {
                "service_id": str(uuid.uuid4()),
                "start": "2027-01-01",
                "end": "2027-01-02",
                "timezone": "Mars/Olympus",
            },
            "timezone",
        ),
    ],
)
async def test_bad_query_is_422_naming_the_field(client, params, field):
    r = await client.get("/api/v1/availability", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_a_62_day_range_is_allowed(client, admin_headers):
    _, service = await make_service(client, admin_headers)
    first = datetime.now(UTC).date()
    r = await client.get(
        "/api/v1/availability",
        params={
            "service_id": service["id"],
            "start": str(first),
            "end": str(first + timedelta(days=61)),
        },
    )
    assert r.status_code == 200, r.text


async def test_unknown_archived_and_suspended_are_404(client, admin_headers, settings):
    first, last = next_week()
    params = {"start": str(first), "end": str(last)}
    r = await client.get("/api/v1/availability", params={"service_id": str(uuid.uuid4()), **params})
    assert r.status_code == 404, r.text

    provider, service = await make_service(client, admin_headers)
    assert await slots(client, service["id"])
    r = await client.delete(
        f"/api/v1/providers/{provider['id']}/services/{service['id']}", headers=admin_headers
    )
    assert r.status_code == 200, r.text
    await consumer(settings).handle(None, _event("service.archived", provider["id"]))  # type: ignore[arg-type]
    r = await client.get("/api/v1/availability", params={"service_id": service["id"], **params})
    assert r.status_code == 404, r.text

    provider, service = await make_service(client, admin_headers)
    assert await slots(client, service["id"])
    r = await client.patch(
        f"/api/v1/providers/{provider['id']}", json={"suspended": True}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    await consumer(settings).handle(None, _event("provider.updated", provider["id"]))  # type: ignore[arg-type]
    r = await client.get("/api/v1/availability", params={"service_id": service["id"], **params})
    assert r.status_code == 404, r.text


def _event(kind: str, provider_id: str):
    return EventEnvelope(
        type=kind,
        source="providers",
        aggregate_id=uuid.UUID(provider_id),
        aggregate_version=2,
        provider_id=uuid.UUID(provider_id),
        data={},
    )


async def test_availability_event_makes_new_hours_visible(client, admin_headers, settings):
    provider, service = await make_service(client, admin_headers)
    assert len(await slots(client, service["id"])) == 7 * 8
    r = await client.put(
        f"/api/v1/providers/{provider['id']}/availability",
        json={"weekly": [{"weekday": d, "start": "10:00", "end": "12:00"} for d in range(7)]},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    await consumer(settings).handle(None, _event("availability.updated", provider["id"]))  # type: ignore[arg-type]
    assert len(await slots(client, service["id"])) == 7 * 2


async def test_providers_down_is_503_problem(database_url: str, tmp_path: Path):
    from calisera.assembly import build_app

    settings = Settings.model_validate(
        {
            "database_url": database_url,
            "admin_token": "test-admin-token-0123456789",
            "providers_url": "http://127.0.0.1:9",
            "bookings_url": "http://127.0.0.1:9",
            "data_dir": tmp_path,
            "log_json": False,
        }
    )
    app = build_app(settings, ["listing"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            first, last = next_week()
            r = await c.get(
                "/api/v1/availability",
                params={"service_id": str(uuid.uuid4()), "start": str(first), "end": str(last)},
            )
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/service-unavailable")


@pytest.mark.redis
async def test_with_redis_a_booked_slot_is_not_offered_again(settings: Settings):
    import os

    from calisera.assembly import build_app
    from tests.conftest import ADMIN_TOKEN, peer_unavailable

    url = os.environ.get("CALISERA_TEST_REDIS_URL")
    if not url:
        peer_unavailable("CALISERA_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    app = build_app(settings.with_changes(cache_url=url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            _, service = await make_service(c, headers)
            before = await slots(c, service["id"])
            assert before == await slots(c, service["id"])  # served from Redis
            r = await c.post(
                "/api/v1/bookings",
                json={
                    "service_id": service["id"],
                    "start": before[0]["start"],
                    "customer": {"name": "Ada", "email": "ada@example.com"},
                },
            )
            assert r.status_code == 201, r.text
            after = await slots(c, service["id"])
    assert before[0]["start"] not in {s["start"] for s in after}


async def test_openapi_documents_the_query_parameters(client):
    r = await client.get("/api/openapi.json")
    operation = r.json()["paths"]["/api/v1/availability"]["get"]
    assert [(p["name"], p["required"]) for p in operation["parameters"]] == [
        ("service_id", True),
        ("start", True),
        ("end", True),
        ("timezone", False),
    ]


async def test_concurrent_first_requests_get_one_consistent_answer(client, admin_headers):
    import asyncio

    _, service = await make_service(client, admin_headers)
    first, last = next_week()
    params = {"service_id": service["id"], "start": str(first), "end": str(last)}
    answers = await asyncio.gather(
        *(client.get("/api/v1/availability", params=params) for _ in range(20))
    )
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1
    assert len(answers[0].json()["slots"]) == 7 * 8


async def test_provider_changes_show_in_availability_at_once(client, admin_headers):
    provider, service = await make_service(client, admin_headers)
    assert len(await slots(client, service["id"])) == 7 * 8  # now cached
    r = await client.put(
        f"/api/v1/providers/{provider['id']}/availability",
        json={"weekly": [{"weekday": d, "start": "09:00", "end": "11:00"} for d in range(7)]},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert len(await slots(client, service["id"])) == 7 * 2, "stale hours after a change"
    r = await client.patch(
        f"/api/v1/providers/{provider['id']}/services/{service['id']}",
        json={"duration_minutes": 120},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert len(await slots(client, service["id"])) == 7, "stale duration after a change"
