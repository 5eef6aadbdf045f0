"""The users service's public keys as another process sees them: fetched over HTTP at
start-up, and fetched again when a token names a key this process does not hold.

After a key rotation the users service signs with a key the other services have never
seen; their cached JWKS would refuse every new token until restarted. So a token whose
``kid`` is unknown triggers one refetch — but at most one per ``min_interval`` seconds
and one at a time (requests arriving meanwhile wait for it and share its result), so a
flood of tokens with made-up ``kid`` values costs the users service one request per
interval, not one per request. Tokens of known keys never wait for anything.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import httpx
import structlog

from calisera.core.backoff import Backoff
from calisera.core.tokens import TokenVerifier, key_id_of

log = structlog.get_logger("calisera.core.key_set")

KEY_SET_BACKOFF = Backoff(base=0.2, cap=5.0)
"""Between fetches of the users service's JWKS while it starts: 0.2 s doubling to 5 s."""


class RemoteKeySet:
    """A JWKS at ``url``, cached; refetched for an unknown ``kid`` (bounded)."""

    def __init__(
        self,
        url: str,
        *,
        min_interval: float = 30.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self.min_interval = min_interval
        self.timeout = timeout
        self._clock = clock
        self.verifier: TokenVerifier | None = None
        self.fetches = 0
        """How many times the key set was fetched (start-up included)."""
        self._last_attempt = -math.inf
        self._lock = asyncio.Lock()

    async def _fetch(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            self.fetches += 1
            response = await http.get(self.url)
            response.raise_for_status()
            self.verifier = TokenVerifier(response.json())

    async def load(self, attempts: int = 10) -> None:
        """The first fetch, retried with backoff while the users service starts. It does
        not count against ``min_interval``: the first unknown ``kid`` refetches at once."""
        for attempt in range(attempts):
            try:
                await self._fetch()
                return
            except (httpx.HTTPError, ValueError):
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(KEY_SET_BACKOFF.delay(attempt + 1))

    async def verifier_for(self, token: str) -> TokenVerifier | None:
        """The key set to verify ``token`` with, refetched first when the token names a
        key it lacks and the last fetch is older than ``min_interval``."""
        current = self.verifier
        if current is not None and current.knows(token):
            return current
        if key_id_of(token) is None:  # not a JWS with a kid: nothing to look for
            return current
        async with self._lock:
            current = self.verifier
            if current is not None and current.knows(token):
                return current  # fetched by a request that waited before this one
            if self._clock() - self._last_attempt < self.min_interval:
                return current
            self._last_attempt = self._clock()
            try:
                await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("jwks_refetch_failed", url=self.url, error=str(exc))
            else:
                log.info(
                    "jwks_refetched",
                    url=self.url,
                    keys=len(self.verifier.key_ids) if self.verifier else 0,
                )
            return self.verifier
