"""Who may do what: anonymous, the owner, another owner, the admin."""

from __future__ import annotations

import pytest

from .conftest import simple_service_body

AVAILABILITY = {"weekly": [{"weekday": 0, "start": "09:00", "end": "17:00"}]}


@pytest.fixture
async def tenant(client, admin_headers, create_provider):
    p = await create_provider(owner_email="owner@example.com")
    s = await client.post(
        f"/api/v1/providers/{p['id']}/services", json=simple_service_body(), headers=admin_headers
    )
    return p, s.json()


def _requests(p: dict, s: dict) -> list[tuple[str, str, dict | None]]:
    base = f"/api/v1/providers/{p['id']}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"name": "Renamed"}),
        ("GET", f"{base}/services", None),
        ("POST", f"{base}/services", simple_service_body(name="New")),
        ("GET", f"{base}/services/{s['id']}", None),
        ("PATCH", f"{base}/services/{s['id']}", {"price_text": "40 EUR"}),
        ("GET", f"{base}/availability", None),
        ("PUT", f"{base}/availability", AVAILABILITY),
        ("DELETE", f"{base}/services/{s['id']}", None),
    ]


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("admin", {200, 201}), ("owner", {200, 201}), ("other", {404}), ("anonymous", {401})],
)
async def test_authorization_matrix(client, admin_headers, auth_headers, tenant, who, allowed):
    p, s = tenant
    headers = {
        "admin": admin_headers,
        "owner": auth_headers("OWNER@example.com"),
        "other": auth_headers("other@example.com"),
        "anonymous": {},
    }[who]
    for method, path, body in _requests(p, s):
        r = await client.request(method, path, json=body, headers=headers)
        assert r.status_code in allowed, (method, path, r.status_code, r.text)


async def test_public_profile_and_qr_are_anonymous(client, tenant):
    p, _ = tenant
    assert (await client.get(f"/api/v1/providers/by-slug/{p['slug']}")).status_code == 200
    assert (await client.get(f"/api/v1/providers/{p['id']}/qr-code")).status_code == 200


async def test_lists_are_scoped(client, admin_headers, auth_headers, create_provider):
    mine = await create_provider(owner_email="a@example.com")
    await create_provider(owner_email="b@example.com")
    as_a = await client.get("/api/v1/providers", headers=auth_headers("a@example.com"))
    assert [p["id"] for p in as_a.json()["items"]] == [mine["id"]]
    as_admin = await client.get("/api/v1/providers", headers=admin_headers)
    assert len(as_admin.json()["items"]) == 2
    assert (await client.get("/api/v1/providers")).status_code == 401


async def test_owner_may_not_transfer_or_suspend(client, auth_headers, tenant):
    p, _ = tenant
    headers = auth_headers("owner@example.com")
    for body in ({"owner_email": "thief@example.com"}, {"suspended": True}):
        r = await client.patch(f"/api/v1/providers/{p['id']}", json=body, headers=headers)
        assert r.status_code == 403


async def test_admin_transfer_moves_access(client, admin_headers, auth_headers, tenant):
    p, _ = tenant
    r = await client.patch(
        f"/api/v1/providers/{p['id']}",
        json={"owner_email": "new@example.com"},
        headers=admin_headers,
    )
    assert r.status_code == 200
    url = f"/api/v1/providers/{p['id']}"
    assert (await client.get(url, headers=auth_headers("new@example.com"))).status_code == 200
    assert (await client.get(url, headers=auth_headers("owner@example.com"))).status_code == 404


async def test_other_tenants_service_under_my_provider_is_404(
    client, auth_headers, admin_headers, tenant, create_provider
):
    _p, s = tenant
    mine = await create_provider(owner_email="me@example.com")
    r = await client.get(
        f"/api/v1/providers/{mine['id']}/services/{s['id']}", headers=auth_headers("me@example.com")
    )
    assert r.status_code == 404


async def test_internal_schedule_needs_admin(client, auth_headers, tenant):
    _, s = tenant
    url = f"/internal/v1/providers/services/{s['id']}/schedule"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=auth_headers("owner@example.com"))).status_code == 403


async def test_only_admin_deletes_a_provider(client, admin_headers, auth_headers, tenant):
    p, s = tenant
    url = f"/api/v1/providers/{p['id']}"
    assert (await client.delete(url)).status_code == 401
    assert (await client.delete(url, headers=auth_headers("owner@example.com"))).status_code == 403
    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    assert (await client.get(url, headers=admin_headers)).status_code == 404
    assert (await client.delete(url, headers=admin_headers)).status_code == 404
    schedule = await client.get(
        f"/internal/v1/providers/services/{s['id']}/schedule", headers=admin_headers
    )
    assert schedule.status_code == 404
    reused = await client.post(
        "/api/v1/providers",
        json={
            "slug": p["slug"],
            "name": "Again",
            "timezone": "UTC",
            "owner_email": "x@example.com",
        },
        headers=admin_headers,
    )
    assert reused.status_code == 201
