"""Database engine and sessions: SQLAlchemy 2 async over psycopg 3.

Every service owns one PostgreSQL schema; tables name their schema explicitly, so one
engine can serve several services in ``calisera up`` without search-path tricks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from calisera.core.after_commit import CommitHookSession
from calisera.core.committed_events import CommittedEvents
from calisera.core.locks import ProviderQueue
from calisera.core.metrics import DB_POOLS
from calisera.core.telemetry import instrument_engine

COMMITTED_EVENTS_KEY = "calisera.committed_events"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """Metadata for one service's schema, with stable constraint names for migrations."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def sqlalchemy_url(url: str, *, driver: str = "psycopg") -> URL:
    """Normalise ``postgresql://`` / ``postgres://`` URLs to the given SQLAlchemy driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"Calisera needs PostgreSQL, got {parsed.get_backend_name()!r}")
    return parsed.set(drivername=f"postgresql+{driver}")


def libpq_url(url: str) -> str:
    """The plain ``postgresql://`` form (for psycopg, pg tools and kombu)."""
    return sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Database:
    """One async engine and its session factory, shared by the services of a process.

    Its sessions run :func:`calisera.core.after_commit.after_commit` jobs once they
    commit, and carry :attr:`committed_events`, the in-process subscribers to events
    committed through this database. :attr:`reader` is a second, small engine for reads
    that must never queue behind lock waiters (see :mod:`calisera.core.locks`).
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 20,
        reader_pool_size: int | None = None,
        reader_max_overflow: int | None = None,
        pre_ping: bool = True,
        **kw: Any,
    ):
        """``pre_ping`` checks a pooled connection before each use (a round trip, about
        0.13 ms of CPU per transaction), so a request after a database restart does not
        fail; a worker turns it off: a transaction that fails on a dead connection is
        retried like any other failure, and the pool then drops its stale connections."""
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=pre_ping,
            **kw,
        )
        DB_POOLS.track("main", self.engine.sync_engine)
        instrument_engine(self.engine)
        self.committed_events = CommittedEvents()
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine,
            class_=CommitHookSession,
            expire_on_commit=False,
            info={COMMITTED_EVENTS_KEY: self.committed_events},
        )
        self.provider_queue = ProviderQueue()
        """Writes of one provider queue here before taking a connection (fairness)."""
        # As large as the main pool: every booking reads its schedule here while it
        # holds its provider's lock, and a pool of 2 (+6 overflow) under 16 concurrent
        # bookings opened and closed about 600 connections in 15 s (bench/booking_path).
        self._reader_options = {
            "pool_size": pool_size if reader_pool_size is None else reader_pool_size,
            "max_overflow": max_overflow if reader_max_overflow is None else reader_max_overflow,
            **kw,
        }
        self._reader_engine: AsyncEngine | None = None
        self._reader: async_sessionmaker[AsyncSession] | None = None

    @property
    def reader(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for read-only work that never waits on a lock, on their own pool.

        The schedule revalidation a booking makes while it holds its provider's lock is
        answered from here: waiters on that lock hold connections of the main pool, so
        an answer needing one of those could wait for them while they wait for it. The
        engine opens on first use (most processes never need it).
        """
        if self._reader is None:
            # Autocommit: each read is one statement with its own snapshot, as under READ
            # COMMITTED in a transaction, without the BEGIN and COMMIT round trips.
            self._reader_engine = create_async_engine(
                sqlalchemy_url(self.url),
                pool_pre_ping=True,
                isolation_level="AUTOCOMMIT",
                **self._reader_options,
            )
            DB_POOLS.track("reader", self._reader_engine.sync_engine)
            instrument_engine(self._reader_engine)
            self._reader = async_sessionmaker(
                self._reader_engine,
                class_=CommitHookSession,
                expire_on_commit=False,
                info={COMMITTED_EVENTS_KEY: self.committed_events},
            )
        return self._reader

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._reader_engine is not None:
            await self._reader_engine.dispose()
