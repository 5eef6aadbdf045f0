"""Every change writes exactly one event in the same transaction; failures write none."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from calisera.core.database import libpq_url

from .conftest import class_service_body, simple_service_body


def outbox_rows(database_url: str) -> list[tuple]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(
            "SELECT type, aggregate_id, aggregate_version, provider_id, envelope "
            "FROM providers.outbox ORDER BY seq"
        ).fetchall()


async def test_each_change_writes_one_event_with_increasing_versions(
    client, admin_headers, create_provider, database_url
):
    p = await create_provider()
    pid = uuid.UUID(p["id"])
    base = f"/api/v1/providers/{p['id']}"
    await client.patch(base, json={"name": "Renamed"}, headers=admin_headers)
    await client.patch(base, json={"name": "Renamed"}, headers=admin_headers)  # no change
    s = (
        await client.post(f"{base}/services", json=simple_service_body(), headers=admin_headers)
    ).json()
    sid = uuid.UUID(s["id"])
    await client.patch(
        f"{base}/services/{s['id']}", json={"duration_minutes": 45}, headers=admin_headers
    )
    await client.delete(f"{base}/services/{s['id']}", headers=admin_headers)
    await client.delete(f"{base}/services/{s['id']}", headers=admin_headers)  # no change
    await client.put(
        f"{base}/availability",
        json={"weekly": [{"weekday": 0, "start": "09:00", "end": "17:00"}]},
        headers=admin_headers,
    )
    await client.put(  # the same hours again: nothing changes, no event
        f"{base}/availability",
        json={"weekly": [{"weekday": 0, "start": "09:00", "end": "17:00"}]},
        headers=admin_headers,
    )
    await client.delete(base, headers=admin_headers)
    rows = outbox_rows(database_url)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("provider.created", pid, 1),
        ("provider.updated", pid, 2),
        ("service.created", sid, 1),
        ("service.updated", sid, 2),
        ("service.archived", sid, 3),
        ("availability.updated", pid, 3),
        ("provider.deleted", pid, 4),
    ]
    assert all(r[3] == pid for r in rows)
    envelope = rows[1][4]
    assert envelope["source"] == "providers"
    assert envelope["aggregate_id"] == p["id"]
    assert envelope["provider_id"] == p["id"]
    assert envelope["data"]["name"] == "Renamed"
    assert envelope["data"]["changed"] == ["name"]
    assert rows[2][4]["data"]["duration_minutes"] == 30
    assert rows[5][4]["data"]["weekly"] == [{"weekday": 0, "start": "09:00:00", "end": "17:00:00"}]
    assert rows[5][4]["data"]["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    "attempt",
    ["duplicate_slug", "bad_service", "bad_availability", "slug_clash_patch"],
)
async def test_failed_change_writes_no_event(
    client, admin_headers, create_provider, database_url, attempt
):
    p = await create_provider(slug="exists-already")
    other = await create_provider(slug="other-one")
    before = len(outbox_rows(database_url))
    base = f"/api/v1/providers/{p['id']}"
    if attempt == "duplicate_slug":
        r = await client.post(
            "/api/v1/providers",
            json={
                "slug": "exists-already",
                "name": "X",
                "timezone": "UTC",
                "owner_email": "x@example.com",
            },
            headers=admin_headers,
        )
    elif attempt == "bad_service":
        body = class_service_body(
            recurrence={"rrule": "FREQ=SECONDLY", "start_time": "18:00", "starts_on": "2026-12-01"}
        )
        r = await client.post(f"{base}/services", json=body, headers=admin_headers)
    elif attempt == "bad_availability":
        r = await client.put(
            f"{base}/availability",
            json={"weekly": [{"weekday": 0, "start": "10:00", "end": "09:00"}]},
            headers=admin_headers,
        )
    else:
        r = await client.patch(
            f"/api/v1/providers/{other['id']}",
            json={"slug": "exists-already"},
            headers=admin_headers,
        )
    assert r.status_code in (409, 422)
    assert len(outbox_rows(database_url)) == before
    got = await client.get(base, headers=admin_headers)
    assert got.json()["version"] == 1


async def test_rolled_back_transaction_leaves_no_event(create_provider, database_url, settings):
    """The event is written inside the change's transaction: a rollback after it drops it."""
    from calisera.core.auth import ADMIN
    from calisera.core.database import Database
    from calisera.providers import profiles
    from calisera.providers.schemas import ProviderPatch

    p = await create_provider()
    before = outbox_rows(database_url)
    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with db.sessionmaker() as session:
            with pytest.raises(RuntimeError):
                async with session.begin():
                    await profiles.update_provider(
                        session, uuid.UUID(p["id"]), ProviderPatch(name="Never"), ADMIN, settings
                    )
                    assert len(outbox_rows(database_url)) == len(before)  # not yet visible
                    raise RuntimeError("crash after the event was recorded")
    finally:
        await db.dispose()
    assert outbox_rows(database_url) == before
