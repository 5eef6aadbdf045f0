"""The transaction of a booking write, retried when PostgreSQL asks for it.

Booking writes of one provider are serialised by :func:`calisera.bookings.service
.lock_provider`, so they do not deadlock each other. PostgreSQL may still abort a
transaction with a deadlock (40P01) or a serialization failure (40001) that no lock of
ours orders (a future write path, a maintenance job); both mean "nothing was written,
run it again". :func:`write_transaction` is the one place that does, a bounded number
of times, so a client never sees a 500 for them. Work run here must be the whole
transaction (reads included), because a retry starts from scratch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from prometheus_client import Counter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
ATTEMPTS = 4

TRANSACTION_RETRIES = Counter(
    "calisera_bookings_transaction_retries_total",
    "Booking write transactions run again after a deadlock or serialization failure.",
    ["sqlstate"],
)
log = structlog.get_logger("calisera.bookings")
T = TypeVar("T")


async def write_transaction(session: AsyncSession, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` in a transaction of ``session``, committed when it returns; rerun it
    (up to :data:`ATTEMPTS` times in all) when PostgreSQL aborts it as retryable."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with session.begin():
                return await work()
        except DBAPIError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate not in RETRYABLE_SQLSTATES or attempt == ATTEMPTS:
                raise
            TRANSACTION_RETRIES.labels(sqlstate).inc()
            log.warning("booking_transaction_retried", sqlstate=sqlstate, attempt=attempt)
    raise AssertionError("unreachable")
