"""The runtime context of one process: settings, database, authentication, and the
services it hosts.

``calisera up`` hosts every service in one process; ``calisera serve X`` hosts one. A
service keeps its own process-wide objects (clients, caches) in one typed state object
(a dataclass of its own), built by its :class:`ServiceSpec` lifespan with
:meth:`Platform.provide`, reached by routes through
:func:`calisera.core.state.state_dependency` and closed by the same lifespan.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import APIRouter

from calisera.core.auth import Authenticator
from calisera.core.database import Database
from calisera.core.key_set import RemoteKeySet
from calisera.core.ownership import OwnerDirectory
from calisera.core.settings import Settings
from calisera.core.tokens import TokenIssuer, TokenVerifier

T = TypeVar("T")
ReadinessCheck = Callable[["Platform"], Awaitable[None]]
ServiceLifespan = Callable[["Platform"], contextlib.AbstractAsyncContextManager[None]]


@dataclass
class ServiceSpec:
    """What a service contributes to an app: routes, its schema, start-up and checks."""

    name: str
    routers: Sequence[APIRouter] = ()
    schema: str | None = None
    lifespan: ServiceLifespan | None = None
    readiness: Sequence[ReadinessCheck] = ()


@dataclass
class Platform:
    settings: Settings
    db: Database
    authenticator: Authenticator
    hosted: frozenset[str]
    token_issuer: TokenIssuer | None = None
    owners: OwnerDirectory | None = None
    """Who owns each provider (:mod:`calisera.core.ownership`), installed at start-up."""
    asgi_app: Any = None
    """The ASGI app of this process, so in-process clients can call it without a socket."""
    _state: dict[type, object] = field(default_factory=dict)

    def hosts(self, service: str) -> bool:
        return service in self.hosted

    def provide(self, state: T) -> T:
        """Register a service's state object (one per type); returns it."""
        if type(state) in self._state:
            raise RuntimeError(f"{type(state).__name__} is already provided in this process")
        self._state[type(state)] = state
        return state

    def get(self, cls: type[T]) -> T:
        """The state object of type ``cls`` (its service's lifespan must be running)."""
        try:
            found = self._state[cls]
        except KeyError:
            raise RuntimeError(f"{cls.__name__} is not provided: is its service hosted?") from None
        assert isinstance(found, cls)
        return found

    def find(self, cls: type[T]) -> T | None:
        """The state object of type ``cls``, or None when its service is not hosted here."""
        found = self._state.get(cls)
        return found if isinstance(found, cls) else None

    def discard(self, cls: type) -> None:
        self._state.pop(cls, None)


def build_authenticator(settings: Settings) -> tuple[Authenticator, TokenIssuer | None]:
    """Admin token plus the key set tokens are verified with.

    With a private key (``calisera up``, or the users service) the issuer's public key is
    used directly; otherwise an explicit JWKS. Fetching a JWKS over HTTP is the users
    service's client's job and happens in its lifespan.
    """
    issuer = None
    verifier = None
    if settings.jwt_private_key is not None:
        retired = settings.jwt_previous_keys
        previous = json.loads(retired)["keys"] if retired else []
        issuer = TokenIssuer(settings.jwt_private_key.get_secret_value(), previous)
        verifier = TokenVerifier(issuer.jwks())
    elif settings.jwt_public_keys:
        verifier = TokenVerifier(settings.jwt_public_keys)
    return Authenticator(settings.admin_token_value, verifier), issuer


async def fetch_key_set(platform: Platform, attempts: int = 10) -> None:
    """Load the users service's JWKS when this process verifies tokens but signs none;
    it is refetched later for a token signed by a key rotated in since."""
    url = platform.settings.jwks_url
    if not url or platform.authenticator.can_verify_tokens:
        return
    remote = RemoteKeySet(url, min_interval=platform.settings.jwks_min_refetch_seconds)
    await remote.load(attempts)
    platform.authenticator.use_remote_key_set(remote)


@contextlib.asynccontextmanager
async def run_lifespans(
    platform: Platform, specs: Sequence[ServiceSpec], peers: Sequence[ServiceLifespan] = ()
) -> AsyncIterator[None]:
    """The hosted services' lifespans, then ``peers``: what every process needs of services
    it may not host (the owner directory, remote cache invalidation), installed by the
    assembly so services need not import each other."""
    await fetch_key_set(platform)
    async with contextlib.AsyncExitStack() as stack:
        for spec in specs:
            if spec.lifespan is not None:
                await stack.enter_async_context(spec.lifespan(platform))
        for peer in peers:
            await stack.enter_async_context(peer(platform))
        yield
