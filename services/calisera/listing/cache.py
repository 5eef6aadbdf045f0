"""The listing cache: Redis when ``CALISERA_CACHE_URL`` is set, in-process otherwise.

The listing service holds no state of its own; the cache only saves work, and every
entry is bounded in time so a replica never serves what it could not recompute:

- ``generation(provider_id)`` is a per-provider counter. Every key derived from a
  provider's bookings or configuration includes it, so :meth:`Cache.bump` (on a
  ``booking.*``, ``provider.*``, ``service.*`` or ``availability.updated`` event, and
  straight from the bookings service when it commits in the same process) makes
  every answer about that provider a miss at once, on every replica sharing Redis.
- Values carry a TTL in seconds: busy time :data:`BUSY_TTL`, computed answers
  :data:`ANSWER_FRESH` and, while one request recomputes them in the background,
  at most :data:`ANSWER_MAX_AGE` (stale-while-revalidate, so an expiry under load
  does not stall every waiting request). An answer is thus at most
  ``BUSY_TTL + ANSWER_MAX_AGE`` = 1 s behind a booking that no invalidation
  announced. Provider configuration is revalidated against the providers service
  (ETag) after :data:`CONFIG_TTL`.

Both implementations have one interface; tests run both against the same cases.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

BUSY_TTL = 0.5
"""Seconds a busy-time read is shared by the answers computed from it."""

ANSWER_FRESH = 0.25
"""Seconds a computed answer is served as is."""

ANSWER_MAX_AGE = 0.5
"""Seconds a computed answer may be served while a newer one is being computed."""

CONFIG_TTL = 2.0
"""Seconds a provider configuration is used before it is revalidated (ETag)."""

KEY_PREFIX = "calisera:listing:"

log = structlog.get_logger("calisera.listing.cache")


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def generation(self, provider_id: uuid.UUID) -> int: ...

    async def bump(self, provider_id: uuid.UUID) -> int: ...

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


class InProcessCache:
    """A bounded LRU dict with per-entry expiry, for one process (``calisera up``)."""

    def __init__(self, max_entries: int = 10_000):
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._generations: dict[uuid.UUID, int] = {}
        self._max = max_entries
        self._now = time.monotonic

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._now():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._entries[key] = (self._now() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def generation(self, provider_id: uuid.UUID) -> int:
        return self._generations.get(provider_id, 0)

    async def bump(self, provider_id: uuid.UUID) -> int:
        value = self._generations.get(provider_id, 0) + 1
        self._generations[provider_id] = value
        return value

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self._entries.clear()


class RedisCache:
    """The same interface on Redis (``redis.asyncio``), shared by every replica.

    Redis being down costs speed, not answers: reads miss and writes are skipped (the
    listing computes from the source services). :meth:`bump` does raise, so an
    invalidation event is retried rather than lost."""

    def __init__(self, url: str):
        self._redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    async def get(self, key: str) -> bytes | None:
        try:
            value: bytes | None = await self._redis.get(KEY_PREFIX + key)
        except RedisError as exc:
            log.warning("listing_cache_unavailable", op="get", error=repr(exc))
            return None
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self._redis.set(KEY_PREFIX + key, value, px=max(1, int(ttl * 1000)))
        except RedisError as exc:
            log.warning("listing_cache_unavailable", op="set", error=repr(exc))

    async def generation(self, provider_id: uuid.UUID) -> int:
        try:
            value = await self._redis.get(f"{KEY_PREFIX}gen:{provider_id}")
        except RedisError as exc:
            log.warning("listing_cache_unavailable", op="generation", error=repr(exc))
            return -1
        return int(value) if value is not None else 0

    async def bump(self, provider_id: uuid.UUID) -> int:
        return int(await self._redis.incr(f"{KEY_PREFIX}gen:{provider_id}"))

    async def ping(self) -> None:
        await self._redis.ping()

    async def aclose(self) -> None:
        await self._redis.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag


def create_cache(cache_url: str | None) -> Cache:
    """Redis for a ``redis://`` / ``rediss://`` / ``unix://`` URL, in-process for None."""
    if cache_url:
        return RedisCache(cache_url)
    return InProcessCache()


_process_caches: list[Cache] = []


def register_process_cache(cache: Cache) -> None:
    """Make ``cache`` the one event handlers in this process invalidate (the listing
    service's lifespan registers its cache; a worker process without the listing
    service falls back to Redis from its settings)."""
    _process_caches.append(cache)


def unregister_process_cache(cache: Cache) -> None:
    if cache in _process_caches:
        _process_caches.remove(cache)


def process_caches() -> list[Cache]:
    return list(_process_caches)
