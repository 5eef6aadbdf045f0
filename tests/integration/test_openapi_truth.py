"""What schemathesis found against ``calisera up`` (issue 13), one request each, on real
PostgreSQL: the server refuses what its document calls invalid, accepts what it calls
valid, and answers the statuses it declares."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ANALYTICS = ("summary", "timeseries", "services", "heatmap", "customers")
UNKNOWN = "00000000-0000-4000-8000-000000000001"


@pytest.fixture
async def provider(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/providers",
        json={
            "slug": "truth-studio",
            "name": "Truth Studio",
            "timezone": "Europe/Berlin",
            "owner_email": "owner@truth.example",
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _fields(r: httpx.Response) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in r.json()["errors"]]


async def test_query_dates_that_are_numbers_are_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], provider: dict[str, Any]
) -> None:
    """``?to=0`` was read as 1970-01-01 and ``?to=0.5`` as an instant."""
    base = f"/api/v1/analytics/providers/{provider['id']}"
    for report in ANALYTICS:
        for value in ("0", "0.5", "2027-01-01T00:00"):
            r = await client.get(f"{base}/{report}", params={"to": value}, headers=admin_headers)
            assert _fields(r) == ["to"], (report, value)
    bookings = f"/api/v1/providers/{provider['id']}/bookings"
    for value in ("0", "0.5", "2027-01-01"):
        r = await client.get(bookings, params={"to": value}, headers=admin_headers)
        assert _fields(r) == ["to"], value


async def test_periods_are_refused_the_same_way_everywhere(
    client: httpx.AsyncClient, admin_headers: dict[str, str], provider: dict[str, Any]
) -> None:
    """Cross-parameter rules are 422 naming the field on every report; the ends of the
    calendar are a 422, never a 500."""
    base = f"/api/v1/analytics/providers/{provider['id']}"
    for report in ANALYTICS:
        reversed_period = {"from": "2027-01-05", "to": "2027-01-01"}
        r = await client.get(f"{base}/{report}", params=reversed_period, headers=admin_headers)
        assert _fields(r) == ["from"], report
        for edge in ({"from": "0001-01-01"}, {"to": "9999-12-31"}, {"to": "0001-01-01"}):
            r = await client.get(f"{base}/{report}", params=edge, headers=admin_headers)
            assert r.status_code == 422, (report, edge, r.text)
        r = await client.get(
            f"{base}/{report}", params={"from": "2027-01-01"}, headers=admin_headers
        )
        assert r.status_code == 200, (report, r.text)


async def test_json_types_are_what_the_schema_says(
    client: httpx.AsyncClient, admin_headers: dict[str, str], provider: dict[str, Any]
) -> None:
    settings = f"/api/v1/notifications/providers/{provider['id']}/settings"
    r = await client.put(settings, json={"sms_customer": 0}, headers=admin_headers)
    assert _fields(r) == ["sms_customer"]
    r = await client.put(settings, json={"reminder_offsets_minutes": [4]}, headers=admin_headers)
    assert _fields(r) == ["reminder_offsets_minutes[0]"]
    r = await client.put(settings, json={"reminder_offsets_minutes": ["60"]}, headers=admin_headers)
    assert _fields(r) == ["reminder_offsets_minutes[0]"]
    r = await client.put(
        settings, json={"reminder_offsets_minutes": [327.0]}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["reminder_offsets_minutes"] == [327]

    hours = f"/api/v1/providers/{provider['id']}/availability"
    r = await client.put(hours, json={"overrides": [{"date": 0}]}, headers=admin_headers)
    assert _fields(r) == ["overrides[0].date"]
    off = {"start": "2026-12-24T00:00+01:00", "end": "2026-12-25T00:00"}
    r = await client.put(hours, json={"time_off": [off]}, headers=admin_headers)
    assert _fields(r) == ["time_off[0].start"]
    r = await client.put(
        hours,
        json={"weekly": [{"weekday": "1", "start": "09:00", "end": "17:00"}]},
        headers=admin_headers,
    )
    assert _fields(r) == ["weekly[0].weekday"]
    r = await client.put(
        hours,
        json={
            "weekly": [{"weekday": 1, "start": "09:00", "end": "17:00:00"}],
            "time_off": [{"start": "2026-12-24T00:00", "end": "2026-12-25T00:00:00"}],
        },
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["weekly"][0]["start"] == "09:00:00"


async def test_zone_names_and_nulls(
    client: httpx.AsyncClient, admin_headers: dict[str, str], provider: dict[str, Any]
) -> None:
    r = await client.patch(
        f"/api/v1/providers/{provider['id']}", json={"timezone": ""}, headers=admin_headers
    )
    assert _fields(r) == ["timezone"]
    r = await client.patch(
        f"/api/v1/providers/{provider['id']}", json={"timezone": None}, headers=admin_headers
    )
    assert _fields(r) == ["timezone"]
    r = await client.get(
        "/api/v1/availability",
        params={"service_id": UNKNOWN, "start": "2027-01-01", "end": "2027-01-02"},
        headers=admin_headers,
    )
    assert r.status_code == 404, r.text


async def test_declared_statuses_are_answered(
    client: httpx.AsyncClient, admin_headers: dict[str, str], provider: dict[str, Any]
) -> None:
    r = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": UNKNOWN,
            "start": "2027-01-01T09:00:00+01:00",
            "customer": {"name": "Ann", "email": "ann@example.com"},
        },
        headers=admin_headers,
    )
    assert r.status_code == 404, r.text
    r = await client.post(
        "/api/v1/providers",
        json={"slug": "truth-studio", "name": "Again", "timezone": "UTC", "owner_email": "a@b.co"},
        headers=admin_headers,
    )
    assert r.status_code == 409, r.text
    r = await client.post("/auth/logout", headers=admin_headers)
    assert r.status_code == 401, r.text


async def test_a_push_endpoint_at_its_stated_length_is_accepted(
    client: httpx.AsyncClient, admin_headers: dict[str, str], provider: dict[str, Any]
) -> None:
    """2048 characters were declared, but the limit applied after pydantic added ``/``."""
    host = ".".join(["a" * 63] * 31) + "." + "b" * 52 + ".com"
    endpoint = f"https://{host}"
    assert len(endpoint) == 2048
    r = await client.post(
        f"/api/v1/notifications/providers/{provider['id']}/push-subscriptions",
        json={"endpoint": endpoint, "keys": {"p256dh": "k" * 20, "auth": "a" * 10}},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/notifications/providers/{provider['id']}/push-subscriptions",
        json={"endpoint": endpoint + "/x", "keys": {"p256dh": "k" * 20, "auth": "a" * 10}},
        headers=admin_headers,
    )
    assert _fields(r) == ["endpoint"]
