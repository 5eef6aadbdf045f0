"""The ``listing`` queue: events that change a provider's slots bump its generation.

Booking, provider, service and availability events all change what a provider can
offer; bumping the provider's generation in the cache makes every cached answer and
configuration of that provider a miss on every replica sharing the cache. Bumping
twice is harmless, so the consumer keeps no schema (``processed=None``).

Which cache: the listing service's own when it runs in this process, otherwise Redis
from ``CALISERA_CACHE_URL`` (read once through :class:`Settings`). A worker process
with neither has nothing to invalidate: an in-process cache elsewhere expires its
answers within ``BUSY_TTL + ANSWER_MAX_AGE`` (1 s).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.consumers import Consumer
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.listing.cache import Cache, RedisCache, process_caches

EVENT_TYPES = ("booking.*", "provider.*", "service.*", "availability.updated")

_fallback: list[Cache] = []


def provider_of(event: EventEnvelope) -> uuid.UUID | None:
    if event.provider_id is not None:
        return event.provider_id
    if event.type.startswith("provider."):
        return event.aggregate_id
    value = event.data.get("provider_id")
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _caches() -> list[Cache]:
    found = process_caches()
    if found:
        return found
    if not _fallback:
        url = Settings().cache_url
        if url:
            _fallback.append(RedisCache(url))
    return list(_fallback)


async def handle(session: AsyncSession, event: EventEnvelope) -> None:
    provider_id = provider_of(event)
    if provider_id is None:
        return
    for cache in _caches():
        await cache.bump(provider_id)


def consumer() -> Consumer:
    return Consumer(name="listing", event_types=EVENT_TYPES, handle=handle, processed=None)
