"""Users-service fixtures: a signed-in session made through the service layer, and a
real OpenID Connect provider with a browser-like walk through the code flow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from calisera.core.app import platform_of
from calisera.users import accounts, sessions
from calisera.users.sign_in_routes import LOGIN_COOKIE
from tests.conftest import peer_unavailable
from tests.integration.pipeline.conftest import smtp  # noqa: F401 - the real SMTP server
from tests.peers.oidc_server import OidcServer, PeerMissing


@pytest.fixture
def sign_in(app: object) -> Callable[..., Awaitable[sessions.TokenPair]]:
    """``await sign_in("ana@example.com")`` -> the first tokens of a new session, as a
    magic-link sign-in would give them."""
    platform = platform_of(app)

    async def make(email: str, user_agent: str = "pytest") -> sessions.TokenPair:
        assert platform.token_issuer is not None
        async with platform.db.sessionmaker() as session, session.begin():
            account = await accounts.account_for_verified_email(session, email)
            row = await sessions.open_session(
                session, account, method="magic_link", user_agent=user_agent
            )
            code = await sessions.create_sign_in_code(session, row)
            return await sessions.redeem_sign_in_code(session, platform.token_issuer, code)

    return make


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[OidcServer]:
    """oauth2-mock-server under node on a loopback port, for the whole run."""
    try:
        server = OidcServer()
    except PeerMissing as exc:
        peer_unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def idp(oidc_server: OidcServer) -> Iterator[OidcServer]:
    """The provider with its default behaviour (a verified ana@example.com)."""
    oidc_server.command("reset")
    yield oidc_server
    oidc_server.command("reset")


@dataclass
class BrowserSignIn:
    """What a browser goes through: our app (in-process) and the provider (real HTTP)."""

    client: httpx.AsyncClient
    provider: httpx.AsyncClient

    async def start(self, return_to: str = "/console") -> tuple[str, dict[str, str]]:
        """Start at ``/auth/login/mock``; the provider's redirect back and the cookie."""
        started = await self.client.get("/auth/login/mock", params={"return_to": return_to})
        assert started.status_code == 302, started.text
        binding = started.cookies[LOGIN_COOKIE]
        authorized = await self.provider.get(started.headers["location"])
        assert authorized.status_code == 302, authorized.text
        return authorized.headers["location"], {"Cookie": f"{LOGIN_COOKIE}={binding}"}

    async def come_back(self, location: str, headers: dict[str, str]) -> httpx.Response:
        parts = urlsplit(location)
        return await self.client.get(f"{parts.path}?{parts.query}", headers=headers)

    async def sign_in(self, return_to: str = "/console") -> httpx.Response:
        return await self.come_back(*await self.start(return_to))


@pytest.fixture
async def browser(client: httpx.AsyncClient) -> AsyncIterator[BrowserSignIn]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as provider:
        yield BrowserSignIn(client, provider)
