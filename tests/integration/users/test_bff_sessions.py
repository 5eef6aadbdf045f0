"""The web service as Backend-for-Frontend: a real OIDC sign-in ends in a cookie session;
tokens stay on the server; state-changing requests need the CSRF header."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from calisera.core.app import platform_of
from calisera.core.settings import Settings
from calisera.web.models import BffSession
from tests.peers.oidc_server import OidcServer

CSRF = {"X-Calisera-CSRF": "1"}


@pytest.fixture
def settings(settings: Settings, idp: OidcServer) -> Settings:
    return settings.with_changes(
        oidc_providers={
            "mock": {"issuer": idp.issuer, "client_id": "calisera-web", "client_secret": "s"}
        }
    )


async def _signed_in_browser(client, browser) -> tuple[dict[str, str], str]:
    """Sign in through the provider and the BFF; the Cookie header and the Set-Cookie."""
    callback = await browser.sign_in(return_to="/console")
    target = urlsplit(callback.headers["location"])
    landed = await client.get(f"{target.path}?{target.query}")
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/console"
    set_cookie = landed.headers["set-cookie"]
    name_value = set_cookie.split(";", 1)[0]
    return {"Cookie": name_value}, set_cookie


async def test_whole_code_flow_through_the_web_service_gives_a_host_cookie(client, browser):
    cookie, set_cookie = await _signed_in_browser(client, browser)
    attributes = [a.strip().lower() for a in set_cookie.split(";")]
    assert set_cookie.startswith("__Host-calisera_session=")
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= set(attributes)
    assert not any(a.startswith("domain") for a in attributes)
    max_age = int(next(a for a in attributes if a.startswith("max-age=")).split("=")[1])
    assert 13 * 86400 < max_age <= 14 * 86400, "the cookie lives as long as the refresh token"
    me = await client.get("/bff/me", headers=cookie)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "ana@example.com"


async def test_tokens_are_kept_sealed_on_the_server(client, browser, app):
    cookie, _ = await _signed_in_browser(client, browser)
    async with platform_of(app).db.sessionmaker() as session:
        row = await session.scalar(sa.select(BffSession))
    assert row is not None
    assert "." not in row.access_token_sealed, "no readable JWT at rest"
    assert cookie["Cookie"].split("=", 1)[1].encode() != row.id_hash


async def test_state_changing_request_without_the_csrf_header_is_403(client, browser):
    cookie, _ = await _signed_in_browser(client, browser)
    body = {"slug": "ana-studio", "name": "Ana", "timezone": "Europe/Lisbon"}
    refused = await client.post("/bff/api/providers", json=body, headers=cookie)
    assert refused.status_code == 403
    other_origin = await client.post(
        "/bff/api/providers",
        json=body,
        headers={**cookie, **CSRF, "Origin": "https://evil.example"},
    )
    assert other_origin.status_code == 403
    created = await client.post(
        "/bff/api/providers",
        json=body,
        headers={**cookie, **CSRF, "Origin": "https://book.example.test"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["owner_email"] == "ana@example.com"


async def test_only_calisera_services_are_forwarded(client, browser):
    cookie, _ = await _signed_in_browser(client, browser)
    assert (await client.get("/bff/api/evil/anything", headers=cookie)).status_code == 404
    assert (await client.get("/bff/api/users/../../healthz", headers=cookie)).status_code == 404


async def test_without_a_session_the_bff_answers_401(client):
    assert (await client.get("/bff/me")).status_code == 401
    r = await client.get("/bff/me", headers={"Cookie": "__Host-calisera_session=forged"})
    assert r.status_code == 401


async def test_expiring_access_token_is_refreshed_and_the_cookie_renewed(client, browser, app):
    cookie, _ = await _signed_in_browser(client, browser)
    platform = platform_of(app)
    async with platform.db.sessionmaker() as session, session.begin():
        before = await session.scalar(sa.select(BffSession.refresh_token_sealed))
        await session.execute(sa.update(BffSession).values(access_expires_at=sa.func.now()))
    me = await client.get("/bff/me", headers=cookie)
    assert me.status_code == 200
    assert me.headers["set-cookie"].startswith("__Host-calisera_session=")
    async with platform.db.sessionmaker() as session:
        after = await session.scalar(sa.select(BffSession.refresh_token_sealed))
    assert after != before, "the refresh token rotated"


async def test_logout_revokes_the_session_and_clears_the_cookie(client, browser, app):
    cookie, _ = await _signed_in_browser(client, browser)
    assert (await client.post("/bff/logout", headers=cookie)).status_code == 403
    out = await client.post("/bff/logout", headers={**cookie, **CSRF})
    assert out.status_code == 204
    assert "max-age=0" in out.headers["set-cookie"].lower()
    assert (await client.get("/bff/me", headers=cookie)).status_code == 401
    from calisera.users.models import Session

    async with platform_of(app).db.sessionmaker() as session:
        reason = await session.scalar(sa.select(Session.revoke_reason))
    assert reason == "logout"


async def test_no_cors_headers_for_other_origins(client, browser):
    cookie, _ = await _signed_in_browser(client, browser)
    r = await client.get("/bff/me", headers={**cookie, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    preflight = await client.options(
        "/bff/api/providers",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
