"""The notifications HTTP API: push subscriptions, settings, delivery log, dev mailbox."""

from __future__ import annotations

import base64
import uuid

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
    assert bad.json()["errors"][0]["field"].endswith("reminder_offsets_minutes")


async def test_deliveries_rejects_a_forged_cursor(client, admin_headers):
    provider_id = str(uuid.uuid4())
    url = f"/api/v1/notifications/providers/{provider_id}/deliveries"
    empty = await client.get(url, headers=admin_headers)
    assert empty.json() == {"items": [], "next_cursor": None}
    bad = await client.get(url, params={"cursor": "nope"}, headers=admin_headers)
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "path", ["/api/v1/notifications/dev/mailbox", "/api/v1/notifications/dev/mailbox.html"]
)
async def test_dev_mailbox_is_served_on_this_machine(client, path):
    response = await client.get(path)
    assert response.status_code == 200
