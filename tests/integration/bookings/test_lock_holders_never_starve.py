"""A booking holding its provider's lock always gets its schedule revalidated.

In ``calisera up`` the revalidation is answered by the providers service of the same
process. With every pooled connection held by a booking transaction (each waiting for
the revalidation it makes under its lock), an answer from that pool would never come;
it comes from the separate reader engine (``Database.reader``) instead.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from calisera.core.settings import Settings

from .conftest import Providers, booking_body, tomorrow_at

POOL = 2
PROVIDERS = 4
PER_PROVIDER = 6


async def test_bookings_of_more_providers_than_pooled_connections_all_complete(
    settings: Settings, admin_headers, database_url
):
    from calisera.assembly import build_app

    small = settings.model_copy(update={"db_pool_size": POOL, "db_max_overflow": 0})
    app = build_app(small)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            schedules = Providers(c, admin_headers)
            configs = [await schedules.add_service() for _ in range(PROVIDERS)]
            bodies = [
                booking_body(config, tomorrow_at(9 + i % 3))
                for config in configs
                for i in range(PER_PROVIDER)
            ]
            answers = await asyncio.wait_for(
                asyncio.gather(*(c.post("/api/v1/bookings", json=b) for b in bodies)),
                timeout=25,  # under the pool's 30 s checkout timeout: no one waited it out
            )
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] == PROVIDERS * 3  # three distinct times per provider
