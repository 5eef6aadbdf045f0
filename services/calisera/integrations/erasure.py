"""Erasing a deleted provider (``provider.deleted``): its webhook endpoints (and their
secrets), deliveries with their attempt logs (payloads hold customers' data), the feed,
the bookings read model, and the CalDAV connection with its credentials, busy time and
pending writes."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.integrations.models import (
    bookings,
    caldav_busy,
    caldav_connections,
    caldav_writes,
    feeds,
    providers,
    webhook_deliveries,
    webhook_endpoints,
)

# Children before parents; webhook attempts go with their deliveries (ON DELETE CASCADE).
_TABLES = (
    webhook_deliveries,
    webhook_endpoints,
    feeds,
    bookings,
    caldav_busy,
    caldav_writes,
    caldav_connections,
    providers,
)


async def erase_provider(session: AsyncSession, provider_id: uuid.UUID) -> None:
    for table in _TABLES:
        await session.execute(table.delete().where(table.c.provider_id == provider_id))
