"""Abuse limits on sign-in: how often one client address or one e-mail address may try.

Counted with the ``limits`` library in moving windows, in Redis when one is configured
(``CALISERA_RATE_LIMIT_URL``, else ``CALISERA_CACHE_URL``: every replica of the users
service shares the counts) and in this process otherwise. A refused attempt is a 429
problem with ``Retry-After`` (seconds until the oldest counted attempt leaves the
window). Refused attempts count too, so hammering does not shorten the wait.

E-mail addresses are counted and logged as a keyed hash, never in clear; tokens, codes
and links are never logged. When Redis cannot be reached the attempt is allowed and the
outage logged: an unreachable counter must not lock every provider out of the console.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated

import structlog
from fastapi import Depends, Request
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from calisera.core.errors import Problem, TooManyRequests
from calisera.core.settings import Settings
from calisera.core.state import state_dependency

log = structlog.get_logger("calisera.users.abuse")

KEY_PREFIX = "calisera-sign-in-limits"


class TooManyAttempts(TooManyRequests):
    """Too many sign-in or token attempts from this address or for this e-mail."""

    slug, title = "too-many-attempts", "Too many attempts"


def _storage(url: str | None) -> Storage:
    if not url:
        return MemoryStorage()
    # redis-py (already the listing cache's client), errors wrapped as StorageError
    return RedisStorage(
        f"async+{url}",
        implementation="redispy",
        key_prefix=KEY_PREFIX,
        wrap_exceptions=True,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
    )


@dataclass
class AbuseLimits:
    """The users service's counters, built once in its lifespan."""

    per_ip: Sequence[RateLimitItem]
    per_email: Sequence[RateLimitItem]
    token_per_ip: Sequence[RateLimitItem]
    storage: Storage
    hash_key: bytes
    limiter: MovingWindowRateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = MovingWindowRateLimiter(self.storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> AbuseLimits:
        secret = settings.admin_token_value or "calisera-development"
        return cls(
            per_ip=parse_many(settings.sign_in_limit_per_ip),
            per_email=parse_many(settings.sign_in_limit_per_email),
            token_per_ip=parse_many(settings.token_limit_per_ip),
            storage=_storage(settings.rate_limit_url or settings.cache_url),
            hash_key=hashlib.sha256(b"calisera-abuse-limits:" + secret.encode()).digest(),
        )

    def email_key(self, email: str) -> str:
        """The counted (and logged) form of an address: a keyed hash, not the address."""
        digest = hmac.new(self.hash_key, email.strip().lower().encode(), hashlib.sha256)
        return digest.hexdigest()[:24]

    async def hit(self, bucket: str, identity: str, items: Sequence[RateLimitItem]) -> None:
        """Count one attempt of ``identity`` in ``bucket``; 429 when a window is full."""
        for item in items:
            try:
                allowed = await self.limiter.hit(item, bucket, identity)
                if allowed:
                    continue
                stats = await self.limiter.get_window_stats(item, bucket, identity)
            except StorageError as exc:
                log.warning("rate_limit_storage_unavailable", bucket=bucket, error=str(exc))
                return
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            log.warning("rate_limited", bucket=bucket, identity=identity, limit=str(item))
            raise TooManyAttempts(
                f"Too many attempts; try again in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
                extra={"retry_after": retry_after},
            )

    async def sign_in_from(self, request: Request) -> None:
        await self.hit("sign-in:ip", client_address(request), self.per_ip)

    async def sign_in_for(self, email: str) -> None:
        await self.hit("sign-in:email", self.email_key(email), self.per_email)

    async def token_from(self, request: Request) -> None:
        await self.hit("token:ip", client_address(request), self.token_per_ip)

    async def aclose(self) -> None:
        if isinstance(self.storage, RedisStorage):
            client = getattr(self.storage.bridge, "storage", None)  # the redis-py client
            if client is not None:
                await client.aclose()


def client_address(request: Request) -> str:
    """The peer address (behind a proxy, uvicorn's ``--proxy-headers`` sets it)."""
    return request.client.host if request.client else "unknown"


AbuseLimitsDep = Annotated[AbuseLimits, Depends(state_dependency(AbuseLimits))]


async def limit_sign_in(request: Request, limits: AbuseLimitsDep) -> None:
    """Dependency of every sign-in route: counts the attempt against the caller's address."""
    await limits.sign_in_from(request)


SignInAttempt = Depends(limit_sign_in)


@contextlib.contextmanager
def refusals_logged(method: str, request: Request, idp: str | None = None) -> Iterator[None]:
    """Log a refused sign-in (its problem type, the method and the client address; no
    code, state, token or link) and let the problem answer the request."""
    try:
        yield
    except Problem as exc:
        log.info(
            "sign_in_refused",
            method=method,
            idp=idp,
            problem=exc.slug,
            status=exc.status,
            client=client_address(request),
        )
        raise
