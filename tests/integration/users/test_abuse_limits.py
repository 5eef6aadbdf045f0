"""Abuse limits on sign-in and token endpoints: per client address, per e-mail address,
in this process and shared through a real Redis by two replicas of the service."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from structlog.testing import capture_logs

from calisera.core.settings import Settings
from tests.conftest import ADMIN_TOKEN, peer_unavailable

PROBLEM = "https://calisera.dev/problems/too-many-attempts"


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """The platform with ``settings``; yields ``client_from(ip)``: a client whose requests
    come from that address."""
    from calisera.assembly import build_app

    app = build_app(settings)
    opened: list[httpx.AsyncClient] = []

    def client_from(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
        c = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        opened.append(c)
        return c

    async with app.router.lifespan_context(app):
        try:
            yield client_from
        finally:
            for c in opened:
                await c.aclose()


def _assert_limited(r: httpx.Response, *, most: int) -> int:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == PROBLEM
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= most
    assert body["retry_after"] == retry_after
    return retry_after


def _ip() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


async def test_sixth_magic_link_for_one_address_is_429_known_or_not(settings: Settings) -> None:
    async with serving(settings.with_changes(sign_in_limit_per_ip="100/minute")) as client_from:
        for address in ("nobody@example.com", "Owner@Example.com"):
            # from several addresses: the per-e-mail limit does not care where from
            for i in range(5):
                r = await client_from(_ip()).post("/auth/magic-link", json={"email": address})
                assert r.status_code == 202, (i, r.text)
            r = await client_from(_ip()).post("/auth/magic-link", json={"email": address})
            _assert_limited(r, most=15 * 60)
        # the limit is per address, case-insensitively: another address still works
        r = await client_from(_ip()).post("/auth/magic-link", json={"email": "owner@example.com"})
        _assert_limited(r, most=15 * 60)
        r = await client_from(_ip()).post("/auth/magic-link", json={"email": "other@example.com"})
        assert r.status_code == 202


async def test_one_client_address_is_limited_on_every_sign_in_route(settings: Settings) -> None:
    async with serving(settings.with_changes(sign_in_limit_per_ip="4/minute")) as client_from:
        attacker, bystander = client_from("203.0.113.7"), client_from("198.51.100.9")
        answers = [
            (await attacker.get("/auth/magic-link/callback", params={"token": "x" * 40})),
            (await attacker.get("/auth/login/unknown-idp")),
            (await attacker.get("/auth/callback/unknown-idp", params={"state": "s"})),
            (await attacker.post("/auth/magic-link", json={"email": "a@example.com"})),
        ]
        assert [a.status_code for a in answers] == [400, 404, 400, 202], [a.text for a in answers]
        for attempt in (
            attacker.get("/auth/magic-link/callback", params={"token": "y" * 40}),
            attacker.get("/auth/login/unknown-idp"),
            attacker.post("/auth/magic-link", json={"email": "b@example.com"}),
        ):
            _assert_limited(await attempt, most=60)
        r = await bystander.get("/auth/magic-link/callback", params={"token": "z" * 40})
        assert r.status_code == 400, r.text


async def test_token_endpoint_limits_api_callers_but_not_the_platforms_bff(
    settings: Settings,
) -> None:
    async with serving(settings.with_changes(token_limit_per_ip="3/minute")) as client_from:
        caller = client_from("192.0.2.44")
        grant = {"grant_type": "refresh_token", "refresh_token": "guess-" + "a" * 40}
        for _ in range(3):
            r = await caller.post("/auth/token", json=grant)
            assert r.status_code == 401, r.text
        _assert_limited(await caller.post("/auth/token", json=grant), most=60)
        # the BFF calls with the platform credential for every browser: never counted
        bff = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for _ in range(6):
            r = await caller.post(
                "/auth/token", json={"grant_type": "sign_in_code", "code": "c" * 40}, headers=bff
            )
            assert r.status_code != 429, r.text


async def test_sign_in_logs_name_no_secret(settings: Settings, smtp) -> None:
    mailbox, smtp_url = smtp
    async with serving(settings.with_changes(smtp_url=smtp_url)) as client_from:
        client = client_from("192.0.2.10")
        with capture_logs() as events:
            r = await client.post("/auth/magic-link", json={"email": "logged@example.com"})
            assert r.status_code == 202
            [message] = mailbox.to("logged@example.com")
            body = message.get_body(preferencelist=("plain",)).get_content()
            path = body[body.index("/auth/magic-link/callback") :].split()[0]
            token = path.split("token=")[1]
            signed_in = await client.get(path)
            assert signed_in.status_code == 303
            code = signed_in.headers["location"].split("code=")[1].split("&")[0]
            refused = await client.get(path)  # the link works once
            assert refused.status_code == 400
    names = [e["event"] for e in events]
    assert "magic_link_requested" in names and "signed_in" in names, names
    assert "sign_in_refused" in names, names
    text = repr(events)
    for secret in (token, code, "logged@example.com"):
        assert secret not in text


def _redis_url() -> str:
    url = os.environ.get("CALISERA_TEST_REDIS_URL")
    if not url:
        peer_unavailable("CALISERA_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    assert url
    return url


@pytest.mark.redis
async def test_two_replicas_share_the_counts_through_redis(
    settings: Settings, signing_key: str
) -> None:
    shared = settings.with_changes(rate_limit_url=_redis_url(), sign_in_limit_per_ip="3/minute")
    ip = _ip()
    async with serving(shared) as replica_a, serving(shared) as replica_b:
        a, b = replica_a(ip), replica_b(ip)
        statuses = [
            (await a.get("/auth/magic-link/callback", params={"token": "q" * 40})).status_code,
            (await b.get("/auth/magic-link/callback", params={"token": "q" * 40})).status_code,
            (await a.get("/auth/magic-link/callback", params={"token": "q" * 40})).status_code,
        ]
        assert statuses == [400, 400, 400]
        _assert_limited(
            await b.get("/auth/magic-link/callback", params={"token": "q" * 40}), most=60
        )
        _assert_limited(
            await a.get("/auth/magic-link/callback", params={"token": "q" * 40}), most=60
        )


@pytest.mark.redis
async def test_cache_url_is_the_default_counter(settings: Settings) -> None:
    shared = settings.with_changes(cache_url=_redis_url(), token_limit_per_ip="1/minute")
    ip = _ip()
    grant = {"grant_type": "refresh_token", "refresh_token": "guess-" + "b" * 40}
    async with serving(shared) as replica_a, serving(shared) as replica_b:
        assert (await replica_a(ip).post("/auth/token", json=grant)).status_code == 401
        _assert_limited(await replica_b(ip).post("/auth/token", json=grant), most=60)


async def test_unreachable_redis_lets_sign_in_through(settings: Settings) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = settings.with_changes(rate_limit_url=f"redis://127.0.0.1:{port}/0")
    async with serving(down) as client_from:
        with capture_logs() as events:
            r = await client_from(_ip()).post("/auth/magic-link", json={"email": "x@example.com"})
        assert r.status_code == 202, r.text
        assert any(e["event"] == "rate_limit_storage_unavailable" for e in events)


def test_openapi_declares_429_with_retry_after(settings: Settings) -> None:
    from calisera.assembly import build_app

    paths = build_app(settings).openapi()["paths"]
    for path, method in [
        ("/auth/login/{idp}", "get"),
        ("/auth/callback/{idp}", "get"),
        ("/auth/magic-link", "post"),
        ("/auth/magic-link/callback", "get"),
        ("/auth/token", "post"),
    ]:
        declared = paths[path][method]["responses"]["429"]
        assert "application/problem+json" in declared["content"], path
        assert declared["headers"]["Retry-After"]["schema"]["type"] == "integer", path


def test_a_limit_that_is_not_limits_notation_stops_start_up() -> None:
    with pytest.raises(ValueError, match="sign_in_limit_per_email"):
        Settings(sign_in_limit_per_email="five a minute")
