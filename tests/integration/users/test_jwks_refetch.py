"""Key rotation seen by another service: the providers service verifies tokens with the
JWKS it fetched from a real users service over HTTP; the users service is restarted
with a new signing key; the first token of the new key makes the providers service
refetch once, and a flood of made-up key ids does not make it refetch per request."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from calisera.core.settings import Settings
from calisera.core.tokens import TokenIssuer, generate_private_key_pem, public_jwk


class CountingJwks:
    """The users app, counting the JWKS requests it serves."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.jwks_requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/.well-known/jwks.json":
            self.jwks_requests += 1
        await self.app(scope, receive, send)


class UsersServer:
    """The real users service under uvicorn on a fixed loopback port."""

    def __init__(self, settings: Settings, port: int) -> None:
        from calisera.assembly import build_app

        self.app = CountingJwks(build_app(settings, ["users"]))
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CountingJwks:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(300):
            if self.server.started:
                return self.app
            await asyncio.sleep(0.05)
        raise RuntimeError("the users service did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await self.task


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    return _free_port()


async def _providers(settings: Settings, port: int) -> AsyncIterator[httpx.AsyncClient]:
    from calisera.assembly import build_app

    app = build_app(
        settings.with_changes(
            jwt_private_key=None,
            jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json",
            jwks_min_refetch_seconds=3600,
        ),
        ["providers"],
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def _create(client: httpx.AsyncClient, issuer: TokenIssuer, slug: str) -> int:
    email = f"{slug}@example.com"
    token = issuer.issue(f"user-{slug}", email=email)
    r = await client.post(
        "/api/v1/providers",
        json={"slug": slug, "name": slug, "timezone": "Europe/Lisbon", "owner_email": email},
        headers={"Authorization": f"Bearer {token}"},
    )
    return r.status_code


async def test_token_of_a_rotated_in_key_is_accepted_after_one_refetch(
    settings: Settings, port: int
) -> None:
    key_a, key_b = generate_private_key_pem(), generate_private_key_pem()
    issuer_a, issuer_b = TokenIssuer(key_a), TokenIssuer(key_b)
    before = settings.with_changes(jwt_private_key=key_a)
    after = settings.with_changes(
        jwt_private_key=key_b, jwt_previous_keys=json.dumps({"keys": [public_jwk(key_a)]})
    )
    async with UsersServer(before, port) as users_a:
        providers_cm = _providers(settings, port)
        providers = await providers_cm.__anext__()
        assert users_a.jwks_requests == 1
        assert await _create(providers, issuer_a, "before-rotation") == 201
    try:
        async with UsersServer(after, port) as users_b:
            assert await _create(providers, issuer_b, "after-rotation") == 201
            assert users_b.jwks_requests == 1  # one refetch, caused by B's first token
            assert await _create(providers, issuer_b, "after-rotation-2") == 201
            assert await _create(providers, issuer_a, "old-key-still-valid") == 201
            assert users_b.jwks_requests == 1
            # a flood of tokens signed by keys nobody publishes: refused, no refetch each
            strangers = [TokenIssuer(generate_private_key_pem()) for _ in range(40)]
            answers = await asyncio.gather(
                *(_create(providers, s, f"stranger-{i}") for i, s in enumerate(strangers))
            )
            assert set(answers) == {401}
            assert users_b.jwks_requests == 1
    finally:
        await providers_cm.aclose()


async def test_a_flood_of_unknown_key_ids_costs_one_refetch(settings: Settings, port: int) -> None:
    key = generate_private_key_pem()
    async with UsersServer(settings.with_changes(jwt_private_key=key), port) as users:
        async for providers in _providers(settings, port):
            assert users.jwks_requests == 1
            strangers = [TokenIssuer(generate_private_key_pem()) for _ in range(40)]
            answers = await asyncio.gather(
                *(_create(providers, s, f"flood-{i}") for i, s in enumerate(strangers))
            )
            assert set(answers) == {401}
            assert users.jwks_requests == 2  # the first unknown kid refetched; no more
            # and a token of the served key never waits for or triggers anything
            assert await _create(providers, TokenIssuer(key), "known-key") == 201
            assert users.jwks_requests == 2


async def test_unknown_key_while_the_users_service_is_down_is_401(
    settings: Settings, port: int
) -> None:
    key = generate_private_key_pem()
    users = UsersServer(settings.with_changes(jwt_private_key=key), port)
    await users.__aenter__()
    providers_cm = _providers(settings, port)
    providers = await providers_cm.__anext__()
    try:
        await users.__aexit__()
        stranger = TokenIssuer(generate_private_key_pem())
        assert await _create(providers, stranger, "while-down") == 401
        assert await _create(providers, TokenIssuer(key), "known-while-down") == 201
    finally:
        await providers_cm.aclose()
