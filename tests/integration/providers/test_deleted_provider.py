"""A deleted provider is gone for everyone: every ``/api/v1/providers/{provider_id}``
route, whichever service serves it, answers 404, the platform admin included
(schemathesis found a 200 on the bookings list)."""

from __future__ import annotations

from typing import Any

from tests.integration.pictures import picture

from .conftest import simple_service_body

AVAILABILITY = {"weekly": [{"weekday": 0, "start": "09:00", "end": "17:00"}]}


def _provider_paths(app: Any) -> list[tuple[str, str]]:
    """Every (method, path template) that names a provider, read from the OpenAPI document
    so a route added later is covered without editing this test."""
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1/providers/{provider_id}")
        for method in operations
    ]


async def test_every_route_of_a_deleted_provider_is_404(
    app, client, admin_headers, auth_headers, create_provider
):
    p = await create_provider(owner_email="owner@example.com")
    base = f"/api/v1/providers/{p['id']}"
    s = (
        await client.post(f"{base}/services", json=simple_service_body(), headers=admin_headers)
    ).json()
    assert (
        await client.put(f"{base}/availability", json=AVAILABILITY, headers=admin_headers)
    ).status_code == 200
    owner = auth_headers("owner@example.com")
    # Before: the owner's lookups are answered (and the owner directory caches them).
    for path in (base, f"{base}/bookings", f"/api/v1/notifications/providers/{p['id']}/settings"):
        assert (await client.get(path, headers=owner)).status_code == 200, path

    assert (await client.delete(base, headers=admin_headers)).status_code == 204

    paths = _provider_paths(app)
    assert "/api/v1/providers/{provider_id}/bookings" in {path for _, path in paths}
    bodies = {
        ("PATCH", "/api/v1/providers/{provider_id}"): {"name": "Renamed"},
        ("POST", "/api/v1/providers/{provider_id}/services"): simple_service_body(),
        ("PATCH", "/api/v1/providers/{provider_id}/services/{service_id}"): {"name": "Renamed"},
        ("PUT", "/api/v1/providers/{provider_id}/availability"): AVAILABILITY,
        ("PUT", "/api/v1/providers/{provider_id}/images/{kind}"): picture(size=(20, 20)),
    }
    checked = 0
    for method, template in paths:
        if method not in ("GET", "DELETE"):
            assert (method, template) in bodies, f"add a valid body for {method} {template}"
        url = template.format(provider_id=p["id"], service_id=s["id"], kind="photo")
        for who, headers in (("admin", admin_headers), ("owner", owner)):
            if (who, method, template) == ("owner", "DELETE", "/api/v1/providers/{provider_id}"):
                continue  # deleting a provider is the admin's alone: 403 whatever the id
            body = bodies.get((method, template))
            if isinstance(body, bytes):  # the image itself
                r = await client.request(
                    method, url, content=body, headers={**headers, "Content-Type": "image/png"}
                )
            else:
                r = await client.request(method, url, json=body, headers=headers)
            assert r.status_code == 404, (who, method, url, r.status_code, r.text)
            checked += 1
    assert checked >= 15
    assert (await client.get(f"/api/v1/providers/by-slug/{p['slug']}")).status_code == 404
