"""The notifications HTTP API: push subscriptions, settings, delivery log, dev mailbox."""

from __future__ import annotations

import base64
import uuid
from contextlib import asynccontextmanager

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


async def _provider(client, admin_headers, owner="owner@example.com") -> str:
    slug = f"p-{uuid.uuid4().hex[:10]}"
    response = await client.post(
        "/api/v1/providers",
        json={
            "slug": slug,
            "name": "Studio Aurora",
            "timezone": "Europe/Berlin",
            "owner_email": owner,
        },
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _browser_keys() -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {
        "p256dh": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "auth": base64.urlsafe_b64encode(b"0123456789abcdef").decode().rstrip("="),
    }


async def test_vapid_public_key_is_stable_p256_point(client):
    first = (await client.get("/api/v1/notifications/vapid-public-key")).json()["public_key"]
    second = (await client.get("/api/v1/notifications/vapid-public-key")).json()["public_key"]
    assert first == second
    raw = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    assert len(raw) == 65 and raw[0] == 4


async def test_owner_subscribes_and_unsubscribes_a_device(client, admin_headers, auth_headers):
    provider_id = await _provider(client, admin_headers)
    owner = auth_headers("owner@example.com")
    url = f"/api/v1/notifications/providers/{provider_id}/push-subscriptions"
    body = {"endpoint": "https://push.example.test/send/abc", "keys": _browser_keys()}
    created = await client.post(url, json=body, headers=owner)
    assert created.status_code == 201, created.text
    again = await client.post(url, json=body, headers=owner)
    assert again.json()["id"] == created.json()["id"]  # same endpoint: one subscription
    gone = await client.request("DELETE", url, json={"endpoint": body["endpoint"]}, headers=owner)
    assert gone.status_code == 204


async def test_stranger_cannot_touch_another_providers_notifications(
    client, admin_headers, auth_headers
):
    provider_id = await _provider(client, admin_headers)
    stranger = auth_headers("mallory@example.com")
    base = f"/api/v1/notifications/providers/{provider_id}"
    assert (await client.get(f"{base}/deliveries", headers=stranger)).status_code == 404
    assert (await client.get(f"{base}/deliveries")).status_code == 401
    put = await client.put(f"{base}/settings", json={}, headers=stranger)
    assert put.status_code == 404


async def test_settings_round_trip_and_validation(client, admin_headers, auth_headers):
    provider_id = await _provider(client, admin_headers)
    owner = auth_headers("owner@example.com")
    url = f"/api/v1/notifications/providers/{provider_id}/settings"
    assert (await client.get(url, headers=owner)).json()["reminder_offsets_minutes"] == [1440, 60]
    put = await client.put(
        url, json={"reminder_offsets_minutes": [120, 2880], "sms_customer": False}, headers=owner
    )
    assert put.status_code == 200, put.text
    assert put.json()["reminder_offsets_minutes"] == [2880, 120]
    assert (await client.get(url, headers=owner)).json()["sms_customer"] is False
    bad = await client.put(url, json={"reminder_offsets_minutes": [1]}, headers=owner)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].startswith("reminder_offsets_minutes")


async def test_deliveries_rejects_a_forged_cursor(client, admin_headers):
    provider_id = str(uuid.uuid4())
    url = f"/api/v1/notifications/providers/{provider_id}/deliveries"
    empty = await client.get(url, headers=admin_headers)
    assert empty.json() == {"items": [], "next_cursor": None}
    bad = await client.get(url, params={"cursor": "nope"}, headers=admin_headers)
    assert bad.status_code == 422


MAILBOX_PATHS = ["/api/v1/notifications/dev/mailbox", "/api/v1/notifications/dev/mailbox.html"]


@asynccontextmanager
async def _platform(settings, client_address=("127.0.0.1", 50000)):
    """Every service in one app with ``settings``, called from ``client_address``."""
    from calisera.assembly import build_app

    application = build_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=client_address)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.mark.parametrize("path", MAILBOX_PATHS)
async def test_dev_mailbox_is_served_on_this_machine_under_up(settings, path):
    async with _platform(settings.with_changes(dev_mailbox=True)) as client:
        response = await client.get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("path", MAILBOX_PATHS)
async def test_dev_mailbox_refuses_callers_from_other_addresses_even_the_admin(
    settings, admin_headers, path
):
    remote = ("203.0.113.7", 50000)
    async with _platform(settings.with_changes(dev_mailbox=True), remote) as client:
        response = await client.get(path, headers=admin_headers)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", MAILBOX_PATHS)
async def test_there_is_no_dev_mailbox_outside_up(client, admin_headers, path):
    assert (await client.get(path, headers=admin_headers)).status_code == 404


async def test_another_tenant_cannot_take_over_a_push_subscription(
    client, admin_headers, auth_headers, database_url
):
    from tests.integration.pipeline.conftest import query

    first = await _provider(client, admin_headers, owner="ana@example.com")
    second = await _provider(client, admin_headers, owner="mallory@example.com")
    body = {"endpoint": "https://push.example.test/send/shared", "keys": _browser_keys()}
    ana, mallory = auth_headers("ana@example.com"), auth_headers("mallory@example.com")
    base = "/api/v1/notifications/providers/{}/push-subscriptions"
    created = await client.post(base.format(first), json=body, headers=ana)
    assert created.status_code == 201, created.text

    stolen = {**body, "keys": _browser_keys()}
    taken = await client.post(base.format(second), json=stolen, headers=mallory)
    assert taken.status_code == 409, taken.text
    assert taken.json()["type"].endswith("/push-endpoint-taken")
    removed = await client.request(
        "DELETE", base.format(second), json={"endpoint": body["endpoint"]}, headers=mallory
    )
    assert removed.status_code == 204  # harmless: nothing of hers to remove
    rows = query(
        database_url,
        "SELECT provider_id::text, p256dh FROM notifications.push_subscriptions "
        "WHERE endpoint = %s",
        body["endpoint"],
    )
    assert rows == [(first, body["keys"]["p256dh"])]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"endpoint": "https://push.example.test/a\u0000b"}, "endpoint"),
        ({"keys": {"p256dh": "A" * 20 + "\u0000", "auth": "0123456789"}}, "keys.p256dh"),
        ({"keys": {"p256dh": "A" * 40, "auth": "01234\u000156789"}}, "keys.auth"),
    ],
)
async def test_control_characters_in_a_push_subscription_are_422_naming_the_field(
    client, admin_headers, auth_headers, body, field
):
    provider_id = await _provider(client, admin_headers)
    valid = {"endpoint": "https://push.example.test/send/ok", "keys": _browser_keys()}
    response = await client.post(
        f"/api/v1/notifications/providers/{provider_id}/push-subscriptions",
        json={**valid, **body},
        headers=auth_headers("owner@example.com"),
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_control_characters_in_an_unsubscribe_or_cursor_are_422(client, admin_headers):
    provider_id = str(uuid.uuid4())
    base = f"/api/v1/notifications/providers/{provider_id}"
    gone = await client.request(
        "DELETE",
        f"{base}/push-subscriptions",
        json={"endpoint": "https://push.example.test/\u0000"},
        headers=admin_headers,
    )
    assert gone.status_code == 422
    assert gone.json()["errors"][0]["field"] == "endpoint"
    bad = await client.get(
        f"{base}/deliveries", params={"cursor": "a\u0000b"}, headers=admin_headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].endswith("cursor")
