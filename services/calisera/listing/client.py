"""What other services call on the listing service: cache invalidation.

The bookings service calls :func:`invalidate_provider` right after it commits a
booking change, so the customer who just booked never sees that slot offered again.
When the listing service runs in the same process (``calisera up``) its cache is bumped
directly; elsewhere, with a shared Redis (``CALISERA_CACHE_URL``), the provider's
generation is bumped there for every listing replica. Without either there is nothing
to invalidate here: a listing replica elsewhere with its own in-process cache reuses
an answer for at most ``BUSY_TTL + ANSWER_MAX_AGE`` (1 s), and the ``listing`` event consumer bumps
shared caches as the events arrive.
"""

from __future__ import annotations

import uuid

from calisera.core.platform import Platform
from calisera.listing.cache import RedisCache

_INVALIDATOR = "listing.invalidator"


async def invalidate_provider(platform: Platform, provider_id: uuid.UUID) -> None:
    """Make every cached answer about ``provider_id`` a miss, now."""
    listing = platform.state.get("listing")
    if listing is not None:
        await listing.invalidate(provider_id)
        return
    url = platform.settings.cache_url
    if not url:
        return
    cache = platform.state.get(_INVALIDATOR)
    if cache is None:
        cache = platform.state[_INVALIDATOR] = RedisCache(url)
    await cache.bump(provider_id)
