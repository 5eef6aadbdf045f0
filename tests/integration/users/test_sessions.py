"""Refresh-token rotation, reuse detection, sign-out and the user's session list."""

from __future__ import annotations


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refresh(client, refresh_token: str):
    return await client.post(
        "/auth/token", json={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


async def test_refresh_rotates_the_refresh_token_and_gives_a_working_access_token(client, sign_in):
    first = await sign_in("ana@example.com")
    r = await _refresh(client, first.refresh_token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["refresh_token"] != first.refresh_token
    assert body["session_id"] == str(first.session_id)
    assert r.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/users/me", headers=_bearer(body["access_token"]))
    assert me.json()["email"] == "ana@example.com"
    assert me.json()["account_id"] == me.json()["subject"]


async def test_reused_refresh_token_revokes_the_whole_family(client, sign_in):
    first = await sign_in("ana@example.com")
    second = (await _refresh(client, first.refresh_token)).json()
    reused = await _refresh(client, first.refresh_token)
    assert reused.status_code == 401
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["type"].endswith("/refresh-token-reused")
    # the thief's replay also killed the legitimate holder's newer token
    after = await _refresh(client, second["refresh_token"])
    assert after.status_code == 401
    assert after.json()["type"].endswith("/invalid-grant")


async def test_unknown_refresh_token_is_401_invalid_grant(client):
    r = await _refresh(client, "not-a-token")
    assert r.status_code == 401
    assert r.json()["type"].endswith("/invalid-grant")


async def test_token_request_without_grant_type_is_422_naming_the_field(client):
    r = await client.post("/auth/token", json={"refresh_token": "x"})
    assert r.status_code == 422
    assert "grant_type" in r.text


async def test_sign_in_code_is_redeemed_only_with_the_platform_credential(
    client, app, admin_headers
):
    from calisera.core.app import platform_of
    from calisera.users import accounts, sessions

    platform = platform_of(app)
    async with platform.db.sessionmaker() as session, session.begin():
        account = await accounts.account_for_verified_email(session, "bo@example.com")
        row = await sessions.open_session(session, account, method="magic_link")
        code = await sessions.create_sign_in_code(session, row)
    grant = {"grant_type": "sign_in_code", "code": code}
    assert (await client.post("/auth/token", json=grant)).status_code == 401
    ok = await client.post("/auth/token", json=grant, headers=admin_headers)
    assert ok.status_code == 200, ok.text
    again = await client.post("/auth/token", json=grant, headers=admin_headers)
    assert again.status_code == 401, "a sign-in code works once"


async def test_logout_with_the_refresh_token_ends_the_session(client, sign_in):
    pair = await sign_in("ana@example.com")
    r = await client.post("/auth/logout", json={"refresh_token": pair.refresh_token})
    assert r.status_code == 204
    assert (await _refresh(client, pair.refresh_token)).status_code == 401


async def test_logout_with_the_access_token_ends_its_session(client, sign_in):
    pair = await sign_in("ana@example.com")
    assert (
        await client.post("/auth/logout", headers=_bearer(pair.access_token))
    ).status_code == 204
    assert (await _refresh(client, pair.refresh_token)).status_code == 401


async def test_logout_without_anything_is_401(client):
    assert (await client.post("/auth/logout")).status_code == 401


async def test_sessions_are_listed_and_revocable_by_their_user_only(client, sign_in):
    phone = await sign_in("ana@example.com", user_agent="phone")
    laptop = await sign_in("ana@example.com", user_agent="laptop")
    other = await sign_in("bo@example.com")
    listed = await client.get("/api/v1/users/me/sessions", headers=_bearer(laptop.access_token))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert {i["user_agent"] for i in items} == {"phone", "laptop"}
    assert [i["current"] for i in items if i["user_agent"] == "laptop"] == [True]
    # someone else's session is not found, and stays alive
    foreign = await client.delete(
        f"/api/v1/users/me/sessions/{other.session_id}", headers=_bearer(laptop.access_token)
    )
    assert foreign.status_code == 404
    assert (await _refresh(client, other.refresh_token)).status_code == 200
    # the user signs the phone out from the laptop
    gone = await client.delete(
        f"/api/v1/users/me/sessions/{phone.session_id}", headers=_bearer(laptop.access_token)
    )
    assert gone.status_code == 204
    assert (await _refresh(client, phone.refresh_token)).status_code == 401
    left = await client.get("/api/v1/users/me/sessions", headers=_bearer(laptop.access_token))
    assert [i["user_agent"] for i in left.json()["items"]] == ["laptop"]


async def test_sessions_need_a_signed_in_user(client):
    assert (await client.get("/api/v1/users/me/sessions")).status_code == 401


async def test_development_token_keeps_working_for_me(client, auth_headers):
    r = await client.get("/api/v1/users/me", headers=auth_headers("dev@example.com"))
    assert r.status_code == 200
    assert r.json()["email"] == "dev@example.com"
