"""Rebuilding analytics from what it stored itself (``calisera analytics rebuild``).

Every booking event analytics was delivered is kept as an observation, so facts are
re-folded from them and every aggregate re-summed from the facts, by the same pure
functions the consumer uses: a rebuild of correct tables changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.analytics.contributions import split_rows, total_contributions
from calisera.analytics.facts import fold_booking
from calisera.analytics.ingest import save_facts
from calisera.analytics.models import booking_observations, bookings, daily_buckets, daily_stats


@dataclass(frozen=True)
class RebuildResult:
    bookings: int
    stat_rows: int
    bucket_rows: int


async def rebuild_aggregates(
    session: AsyncSession, provider_id: uuid.UUID | None = None
) -> RebuildResult:
    """Recompute booking facts from the stored observations and every aggregate from the
    facts, for one provider or all, in the caller's transaction.

    The aggregate tables are locked against concurrent consumers for the duration, so a
    consumer that delivers meanwhile applies its delta on top of the rebuilt rows.
    """
    await session.execute(
        sa.text(
            "LOCK TABLE analytics.daily_stats, analytics.daily_buckets, analytics.bookings "
            "IN SHARE ROW EXCLUSIVE MODE"
        )
    )
    query = sa.select(booking_observations.c.booking_id, booking_observations.c.observation)
    if provider_id is not None:
        ids = sa.select(booking_observations.c.booking_id).where(
            booking_observations.c.provider_id == provider_id
        )
        query = query.where(booking_observations.c.booking_id.in_(ids))
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in await session.execute(query):
        grouped.setdefault(row.booking_id, []).append(row.observation)
    facts = [fold_booking(bid, obs) for bid, obs in grouped.items()]
    if provider_id is not None:
        facts = [f for f in facts if f.provider_id == provider_id]
        for table in (daily_stats, daily_buckets, bookings):
            await session.execute(sa.delete(table).where(table.c.provider_id == provider_id))
    else:
        for table in (daily_stats, daily_buckets, bookings):
            await session.execute(sa.delete(table))
    await save_facts(session, facts)
    stat_rows, bucket_rows = split_rows(total_contributions(facts))
    if stat_rows:
        await session.execute(insert(daily_stats), stat_rows)
    if bucket_rows:
        await session.execute(insert(daily_buckets), bucket_rows)
    return RebuildResult(len(facts), len(stat_rows), len(bucket_rows))
