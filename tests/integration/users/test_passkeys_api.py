"""The passkey API's refusals, without a browser (the ceremony itself is proven in
Chromium by tests/e2e/test_console_passkeys.py): challenges are single use, expire, and
belong to one account and one purpose; bad credentials are 400, never 500; another
user's passkey is a 404."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from calisera.core.app import platform_of
from calisera.users.models import Passkey, WebauthnChallenge

GARBAGE = {
    "id": "AAAA",
    "rawId": "AAAA",
    "type": "public-key",
    "response": {"clientDataJSON": "e30", "attestationObject": "AAAA"},
}


def _bearer(pair) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair.access_token}"}


async def test_sign_in_challenge_is_single_use_and_garbage_is_400(client):
    r = await client.post("/auth/passkeys/sign-in/options")
    assert r.status_code == 200, r.text
    start = r.json()
    assert start["public_key"]["rpId"] == "book.example.test"
    assert not start["public_key"].get("allowCredentials")
    body = {"challenge_id": start["challenge_id"], "credential": {**GARBAGE, "rawId": "AQID"}}
    first = await client.post("/auth/passkeys/sign-in", json=body)
    assert first.status_code == 400, first.text
    assert first.json()["type"].endswith("/invalid-passkey")
    again = await client.post("/auth/passkeys/sign-in", json=body)
    assert again.status_code == 400
    assert again.json()["type"].endswith("/invalid-passkey-challenge")
    unknown = {"challenge_id": str(uuid.uuid4()), "credential": GARBAGE}
    r = await client.post("/auth/passkeys/sign-in", json=unknown)
    assert r.json()["type"].endswith("/invalid-passkey-challenge")


async def test_registration_challenge_belongs_to_one_account_and_expires(app, client, sign_in):
    ana, bob = await sign_in("ana@example.com"), await sign_in("bob@example.com")
    start = (await client.post("/api/v1/users/me/passkey-options", headers=_bearer(ana))).json()
    assert start["public_key"]["user"]["name"] == "ana@example.com"
    body = {"challenge_id": start["challenge_id"], "name": "Phone", "credential": GARBAGE}
    r = await client.post("/api/v1/users/me/passkeys", json=body, headers=_bearer(bob))
    assert r.json()["type"].endswith("/invalid-passkey-challenge"), r.text
    # an expired challenge is refused too
    async with platform_of(app).db.sessionmaker() as session, session.begin():
        await session.execute(
            sa.update(WebauthnChallenge).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    r = await client.post("/api/v1/users/me/passkeys", json=body, headers=_bearer(ana))
    assert r.json()["type"].endswith("/invalid-passkey-challenge"), r.text
    # a fresh one with a credential that is not one: 400 naming the problem
    start = (await client.post("/api/v1/users/me/passkey-options", headers=_bearer(ana))).json()
    body["challenge_id"] = start["challenge_id"]
    r = await client.post("/api/v1/users/me/passkeys", json=body, headers=_bearer(ana))
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid-passkey"), r.text


async def test_names_are_checked(client, sign_in):
    ana = await sign_in("ana@example.com")
    for name in ("", "a" * 101, "Pho\x00ne", "two\nlines"):
        body = {"challenge_id": str(uuid.uuid4()), "name": name, "credential": GARBAGE}
        r = await client.post("/api/v1/users/me/passkeys", json=body, headers=_bearer(ana))
        assert r.status_code == 422, (name, r.text)
        assert r.json()["errors"][0]["field"] == "name"


async def test_another_users_passkey_is_404_and_strangers_are_401(app, client, sign_in):
    ana, bob = await sign_in("ana@example.com"), await sign_in("bob@example.com")
    ana_id = (await client.get("/api/v1/users/me", headers=_bearer(ana))).json()["account_id"]
    key_id = uuid.uuid4()
    async with platform_of(app).db.sessionmaker() as session, session.begin():
        session.add(
            Passkey(
                id=key_id,
                account_id=uuid.UUID(ana_id),
                credential_id=b"\x01\x02\x03",
                public_key=b"\x04",
                sign_count=0,
                name="Phone",
                transports=["internal"],
            )
        )
    path = f"/api/v1/users/me/passkeys/{key_id}"
    assert (await client.delete(path, headers=_bearer(bob))).status_code == 404
    r = await client.patch(path, json={"name": "Mine"}, headers=_bearer(bob))
    assert r.status_code == 404
    assert (await client.get("/api/v1/users/me/passkeys", headers=_bearer(bob))).json() == {
        "items": []
    }
    assert (await client.get("/api/v1/users/me/passkeys")).status_code == 401
    r = await client.patch(path, json={"name": "Pocket"}, headers=_bearer(ana))
    assert r.status_code == 200 and r.json()["name"] == "Pocket"
    listed = (await client.get("/api/v1/users/me/passkeys", headers=_bearer(ana))).json()
    assert [p["name"] for p in listed["items"]] == ["Pocket"]
    assert (await client.delete(path, headers=_bearer(ana))).status_code == 204
    assert (await client.delete(path, headers=_bearer(ana))).status_code == 404
