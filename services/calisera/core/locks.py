"""The per-provider lock that orders booking writes against the schedule they rely on.

A booking is confirmed against data of two services: busy time (bookings) and the
provider's schedule (providers: hours, time off, suspension, services). Both services
take the same transaction-scoped PostgreSQL advisory lock, keyed by the provider, in
every transaction that changes one of them (:func:`lock_provider`, first statement of
the transaction). An advisory lock touches no table, so neither service reads the
other's schema. A booking then runs: lock → revalidate the schedule with the providers
service → check → insert → commit. A providers change either committed before the
lock was granted (the revalidation sees it) or waits for the lock and commits after
the booking, exactly as if the booking had come a moment earlier.

What keeps this from starving the connection pool: the holder of the lock needs one
more connection to answer the revalidation (in ``calisera up`` from the same process),
while waiters on the lock each hold one. The revalidation is therefore answered from
:attr:`calisera.core.database.Database.reader`, a separate small engine whose
transactions only read and so never wait on a lock: a holder always gets a connection
there, however many waiters sit on the main pool. :class:`ProviderQueue` adds
fairness: writes of one provider queue in-process before taking a connection, so a
storm on one provider holds one pooled connection per process, not the whole pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

PROVIDER_LOCK_NAMESPACE = 0x7076  # "pv": the first int of the two-int advisory key


def provider_lock_sql(provider_id_sql: str) -> str:
    """``pg_advisory_xact_lock`` of the provider whose id (uuid) the SQL expression is.

    The key is ``(namespace, hashtext(id as text))``: a hash collision only makes two
    providers wait for each other, never lets a write through unlocked.
    """
    return (
        f"pg_advisory_xact_lock({PROVIDER_LOCK_NAMESPACE},"
        f" hashtext(CAST({provider_id_sql} AS text)))"
    )


_LOCK_PROVIDER = sa.text(f"SELECT {provider_lock_sql(':provider_id')}")


async def lock_provider(session: AsyncSession, provider_id: uuid.UUID) -> None:
    """Take the provider's lock in the session's transaction (held until it ends).

    Take it first, before any row lock: every transaction that takes it does so in the
    same order, so it adds no deadlock.
    """
    await session.execute(_LOCK_PROVIDER, {"provider_id": str(provider_id)})


class ProviderQueue:
    """In-process FIFO per provider, entered before a write takes a pooled connection.

    Only fairness and pool economy: correctness comes from the advisory lock, which
    also orders writes of other processes. Entries live only while someone holds or
    waits for them.
    """

    def __init__(self) -> None:
        self._locks: dict[uuid.UUID, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def turn(self, provider_id: uuid.UUID) -> AsyncIterator[None]:
        lock, users = self._locks.get(provider_id) or (asyncio.Lock(), 0)
        self._locks[provider_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[provider_id]
            if users == 1:
                del self._locks[provider_id]
            else:
                self._locks[provider_id] = (lock, users - 1)
