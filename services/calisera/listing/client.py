"""What processes that do not host the listing service need of it: cache invalidation.

Where listing runs in the same process (``calisera up``), its lifespan subscribes its
own cache to committed events. A process that hosts other services but not listing,
with a Redis shared by the listing replicas (``CALISERA_CACHE_URL``), runs
:func:`remote_invalidation` (the assembly adds it): every booking, provider, service
or availability event it commits bumps that provider's generation in Redis right
after the commit, for every listing replica. Without either there is nothing to
invalidate here: the ``listing`` event consumer bumps shared caches as events arrive,
and an in-process cache elsewhere reuses an answer for at most ``BUSY_TTL +
ANSWER_MAX_AGE`` (1 s).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from calisera.core.events import EventEnvelope
from calisera.core.platform import Platform
from calisera.listing.cache import RedisCache
from calisera.listing.consumers import EVENT_TYPES, bump


@contextlib.asynccontextmanager
async def remote_invalidation(platform: Platform) -> AsyncIterator[None]:
    url = platform.settings.cache_url
    if not url or platform.hosts("listing"):
        yield
        return
    cache = RedisCache(url)

    async def invalidate(event: EventEnvelope) -> None:
        await bump([cache], event)

    platform.db.committed_events.subscribe("listing.invalidate", EVENT_TYPES, invalidate)
    try:
        yield
    finally:
        platform.db.committed_events.unsubscribe(invalidate)
        await cache.aclose()
