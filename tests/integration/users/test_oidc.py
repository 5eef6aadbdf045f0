"""OpenID Connect sign-in against a real provider (oauth2-mock-server under node)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from calisera.core.app import platform_of
from calisera.core.settings import Settings
from calisera.users.models import Identity, OidcLogin
from tests.conftest import ADMIN_TOKEN
from tests.peers.oidc_server import OidcServer


@pytest.fixture
def settings(settings: Settings, idp: OidcServer) -> Settings:
    return settings.with_changes(
        oidc_providers={
            "mock": {
                "issuer": idp.issuer,
                "client_id": "calisera-web",
                "client_secret": "s3cret",
                "label": "Mock ID",
            }
        }
    )


async def _tokens(client, callback) -> dict:
    """The BFF's half: redeem the sign-in code the callback redirected with."""
    assert callback.status_code == 303, callback.text
    target = urlsplit(callback.headers["location"])
    assert target.path == "/bff/session"
    code = parse_qs(target.query)["code"][0]
    r = await client.post(
        "/auth/token",
        json={"grant_type": "sign_in_code", "code": code},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def _me(client, tokens: dict) -> dict:
    r = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_providers_are_listed_with_their_label(client):
    items = (await client.get("/auth/providers")).json()["items"]
    assert items == [{"name": "mock", "label": "Mock ID", "login_url": "/auth/login/mock"}]


async def test_login_redirects_with_pkce_state_and_nonce(client, idp):
    r = await client.get("/auth/login/mock")
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == idp.issuer
    query = parse_qs(target.query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == ["https://book.example.test/auth/callback/mock"]
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "samesite=lax" in cookie.lower()


async def test_whole_code_flow_signs_in_and_creates_the_account(client, browser):
    callback = await browser.sign_in(return_to="/console/bookings")
    assert parse_qs(urlsplit(callback.headers["location"]).query)["return_to"] == [
        "/console/bookings"
    ]
    me = await _me(client, await _tokens(client, callback))
    assert me["email"] == "ana@example.com"
    assert me["name"] == "Ana Example"


async def test_second_sign_in_reuses_the_linked_account(client, browser):
    first = await _me(client, await _tokens(client, await browser.sign_in()))
    second = await _me(client, await _tokens(client, await browser.sign_in()))
    assert first["account_id"] == second["account_id"]


async def test_verified_email_links_to_the_existing_account(client, browser, sign_in, app):
    magic = await sign_in("ana@example.com")  # the account exists already (magic link)
    me = await _me(client, await _tokens(client, await browser.sign_in()))
    assert me["account_id"] is not None
    platform = platform_of(app)
    async with platform.db.sessionmaker() as session:
        linked = await session.scalar(sa.select(Identity.account_id))
    assert str(linked) == me["account_id"]
    assert (await _me(client, {"access_token": magic.access_token}))["account_id"] == me[
        "account_id"
    ]


async def test_unverified_email_never_links_or_creates_an_account(client, browser, idp, sign_in):
    await sign_in("ana@example.com")
    idp.command("id_token", claims={"email_verified": False})
    r = await browser.sign_in()
    assert r.status_code == 403
    assert r.json()["type"].endswith("/unverified-email")


async def test_unknown_state_is_refused(client, browser):
    location, headers = await browser.start()
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    r = await client.get(
        parts.path, params={"code": query["code"][0], "state": "forged"}, headers=headers
    )
    assert r.status_code == 400
    assert r.json()["type"].endswith("/invalid-login-state")


async def test_callback_in_another_browser_is_refused(client, browser):
    location, _ = await browser.start()
    r = await browser.come_back(location, {"Cookie": "calisera_oidc_login=someone-else"})
    assert r.status_code == 400
    assert r.json()["type"].endswith("/invalid-login-state")


async def test_replayed_callback_is_refused(client, browser):
    location, headers = await browser.start()
    assert (await browser.come_back(location, headers)).status_code == 303
    again = await browser.come_back(location, headers)
    assert again.status_code == 400
    assert again.json()["type"].endswith("/invalid-login-state")


async def test_code_refused_by_the_provider_as_expired_is_a_400(client, browser, idp):
    idp.command("token_error", error="invalid_grant", description="code expired")
    r = await browser.sign_in()
    assert r.status_code == 400
    assert r.json()["type"].endswith("/identity-provider-refused")
    assert "code expired" in r.json()["detail"]


async def test_login_that_took_too_long_is_refused(client, browser, app):
    location, headers = await browser.start()
    async with platform_of(app).db.sessionmaker() as session, session.begin():
        await session.execute(
            sa.update(OidcLogin).values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
        )
    r = await browser.come_back(location, headers)
    assert r.status_code == 400
    assert r.json()["type"].endswith("/invalid-login-state")


async def test_bad_nonce_is_refused(client, browser, idp):
    idp.command("id_token", claims={"nonce": "not-the-one-we-sent"})
    r = await browser.sign_in()
    assert r.status_code == 400
    assert r.json()["type"].endswith("/invalid-id-token")


async def test_id_token_for_another_audience_is_refused(client, browser, idp):
    idp.command("id_token", claims={"aud": "some-other-client"})
    r = await browser.sign_in()
    assert r.status_code == 400
    assert r.json()["type"].endswith("/invalid-id-token")


async def test_id_token_from_another_issuer_is_refused(client, browser, idp):
    idp.command("id_token", claims={"iss": "https://evil.example"})
    r = await browser.sign_in()
    assert r.status_code == 400
    assert r.json()["type"].endswith("/invalid-id-token")


async def test_provider_key_rotation_is_followed(client, browser, idp):
    await _tokens(client, await browser.sign_in())  # the provider's keys are now cached
    idp.command("rotate")
    me = await _me(client, await _tokens(client, await browser.sign_in()))
    assert me["email"] == "ana@example.com"


async def test_sign_in_then_refresh_rotation_and_reuse_detection(client, browser):
    tokens = await _tokens(client, await browser.sign_in())
    grant = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    rotated = await client.post("/auth/token", json=grant)
    assert rotated.status_code == 200
    assert (await client.post("/auth/token", json=grant)).status_code == 401
    newer = {"grant_type": "refresh_token", "refresh_token": rotated.json()["refresh_token"]}
    assert (await client.post("/auth/token", json=newer)).status_code == 401


async def test_unknown_provider_is_404(client):
    r = await client.get("/auth/login/nope")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


async def test_return_to_elsewhere_is_replaced_by_the_console(client, browser):
    callback = await browser.sign_in(return_to="//evil.example/steal")
    assert parse_qs(urlsplit(callback.headers["location"]).query)["return_to"] == ["/console"]
