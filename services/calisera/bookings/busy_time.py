"""The provider's busy time: confirmed bookings, pending requests, holds and booked
occurrences, with buffers.

One query serves both the check of a new booking and listing's view of what is taken
(``GET /internal/v1/bookings/busy``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.schemas import BusyIntervalOut, BusyTime, OccurrenceSeatsOut

_BUSY = sa.text(
    """
    SELECT * FROM (
        SELECT k.service_id, k.start_at, k.end_at, k.buffer_before_minutes,
               k.buffer_after_minutes, k.occurrence_id,
               coalesce(o.seats_taken - coalesce(stale.seats, 0), b.seats, h.seats) AS seats
          FROM bookings.busy_blocks k
          LEFT JOIN bookings.bookings b ON b.id = k.booking_id
          LEFT JOIN bookings.holds h ON h.id = k.hold_id
          LEFT JOIN bookings.occurrences o ON o.id = k.occurrence_id
          LEFT JOIN LATERAL (
              SELECT sum(x.seats) AS seats FROM (
                  SELECT s.seats FROM bookings.bookings s
                   WHERE s.occurrence_id = k.occurrence_id
                     AND s.status = 'pending' AND s.expires_at <= :now
                  UNION ALL
                  SELECT e.seats FROM bookings.holds e
                   WHERE e.occurrence_id = k.occurrence_id AND e.expires_at <= :now
              ) x
          ) stale ON k.occurrence_id IS NOT NULL
         WHERE k.provider_id = :provider_id
           AND k.during && tstzrange(:start, :end, '[)')
           AND (k.expires_at IS NULL OR k.expires_at > :now)
           AND (CAST(:exclude AS uuid) IS NULL OR k.booking_id IS DISTINCT FROM :exclude)
    ) busy
     WHERE busy.seats > 0
     ORDER BY busy.start_at
    """
)
"""Busy blocks of one provider overlapping a range: served by the GiST index of the
exclusion constraint (``provider_id WITH =, during WITH &&``). What has expired by
``now`` is not busy, whether or not a writer has expired it yet
(:mod:`calisera.bookings.expiry`): an expired request's or hold's block, and the seats
expired requests and holds still count in their occurrence."""


def busy_range(start: datetime, end: datetime, before: int, after: int) -> Any:
    """The ``during`` range of a busy block: the booked time widened by its buffers."""
    return sa.func.tstzrange(
        start - timedelta(minutes=before), end + timedelta(minutes=after), "[)"
    )


async def busy_rows(
    session: AsyncSession,
    provider_id: uuid.UUID,
    start: datetime,
    end: datetime,
    exclude_booking_id: uuid.UUID | None,
    now: datetime,
) -> Sequence[Any]:
    result = await session.execute(
        _BUSY,
        {
            "provider_id": provider_id,
            "start": start,
            "end": end,
            "exclude": exclude_booking_id,
            "now": now,
        },
    )
    return result.all()


async def busy_time(
    session: AsyncSession,
    provider_id: uuid.UUID,
    start: datetime,
    end: datetime,
    now: datetime,
) -> BusyTime:
    """The provider's busy blocks overlapping ``[start, end)`` (buffers included), as of
    ``now``: requests count until they expire."""
    rows = await busy_rows(session, provider_id, start, end, None, now)
    return BusyTime(
        provider_id=provider_id,
        start=start,
        end=end,
        intervals=[
            BusyIntervalOut(
                service_id=r.service_id,
                start=r.start_at,
                end=r.end_at,
                buffer_before_minutes=r.buffer_before_minutes,
                buffer_after_minutes=r.buffer_after_minutes,
                seats=r.seats,
            )
            for r in rows
        ],
        occurrences=[
            OccurrenceSeatsOut(service_id=r.service_id, start=r.start_at, seats_taken=r.seats)
            for r in rows
            if r.occurrence_id is not None
        ],
    )
