"""The ``listing`` queue: events that change a provider's slots bump its generation.

Booking, hold, provider, service and availability events all change what a provider
can offer; bumping the provider's generation in the cache makes every cached answer and
configuration of that provider a miss on every replica sharing the cache. Bumping
twice is harmless, so the consumer keeps no schema (``processed=None``).

Which cache: the listing service's own when it runs in this process, otherwise Redis
from the worker's settings (``CALISERA_CACHE_URL``). A worker process with neither has
nothing to invalidate, so without ``CALISERA_CACHE_URL`` the queue takes no events at
all (nothing routed, no worker in ``up``): an in-process cache is invalidated by its own
process after commit, and one in another process expires its answers within
``BUSY_TTL + ANSWER_MAX_AGE`` (1 s).

The same handler runs in-process right after a commit (:func:`invalidate_on_commit`,
subscribed by the listing lifespan), so the customer who just booked never sees that
slot offered again; this queue repairs what that hook could not do (Redis down) and
reaches every other replica.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.consumers import Consumer
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.listing.cache import Cache, RedisCache, process_caches

EVENT_TYPES = (
    "booking.*",
    "hold.*",
    "waitlist.*",
    "provider.*",
    "service.*",
    "availability.updated",
)


def provider_of(event: EventEnvelope) -> uuid.UUID | None:
    """Every event of these types names its provider in the envelope."""
    if event.provider_id is not None:
        return event.provider_id
    if event.type.startswith("provider."):
        return event.aggregate_id
    return None


async def bump(caches: list[Cache], event: EventEnvelope) -> None:
    provider_id = provider_of(event)
    if provider_id is None:
        return
    for cache in caches:
        await cache.bump(provider_id)


def consumer(settings: Settings) -> Consumer:
    fallback: list[Cache] = [RedisCache(settings.cache_url)] if settings.cache_url else []

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        await bump(process_caches() or fallback, event)

    # Without a shared cache a worker process has nothing to reach (the processes
    # serving listing invalidate their own caches after commit): take no events.
    wanted = EVENT_TYPES if fallback else ()
    return Consumer(name="listing", event_types=wanted, handle=handle, processed=None)
