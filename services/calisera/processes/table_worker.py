"""The worker of the table queue: ``calisera worker`` when no broker is configured.

Without ``CALISERA_BROKER_URL`` (``calisera up``, one machine) the rows of
``relay.deliveries`` are the queue: the relay records each (event, consumer) due at once
and NOTIFYs :data:`~calisera.processes.deliveries.CHANNEL`; this worker takes a batch of
due rows of its consumers in one statement (``FOR UPDATE SKIP LOCKED``, so several
workers share the work), which leases them for the visibility timeout, handles them one
by one exactly as the Celery task does (:func:`~calisera.processes.worker.consume`:
the consumer's idempotent transaction, then its after-commit work) and confirms the
batch in one statement.

The guarantees are the broker path's: a worker killed with SIGKILL leaves its leased
rows due again when the lease runs out (another worker, or this one restarted, takes
them; the consumers deduplicate); a failure is recorded with its backoff and the row is
due again after it, until dead-lettered (``calisera dlq``). A batch whose handling
outlasts half the lease hands its rest back rather than let the lease run out under it.
A restarting database is waited for. What it saves is a second queue in the same
database: kombu's SQLAlchemy transport inserted, polled, locked and deleted a message
per delivery (see docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
import structlog
from sqlalchemy.exc import DBAPIError

from calisera.core.consumers import Consumer, WorkerContext
from calisera.core.database import Database, libpq_url
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.processes import deliveries
from calisera.processes.worker import (
    RETRY_BACKOFF,
    consume,
    consume_span,
    log_consumed,
    log_failed,
    periodic_loop,
    record_failure,
)

log = structlog.get_logger("calisera.worker")

Key = tuple[UUID, str]
BATCH_SIZE = 50
"""Deliveries leased at once by one loop: enough to amortise the take and the confirm,
few enough that a killed worker's batch is soon redone."""
_UNAVAILABLE = (DBAPIError, psycopg.OperationalError, OSError)


@dataclass
class TableWorker:
    """``concurrency`` loops in one event loop, each taking and handling its own batches
    (they overlap their waits on the database and the SMTP server)."""

    settings: Settings
    consumers: Mapping[str, Consumer]
    concurrency: int = 1
    batch_size: int = BATCH_SIZE
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _wakes: list[asyncio.Event] = field(default_factory=list)

    @property
    def poll_interval(self) -> float:
        return self.settings.relay_poll_interval

    async def run(self) -> None:
        assert self.settings.database_url, "the worker needs DATABASE_URL"
        db = Database(
            self.settings.database_url,
            pool_size=self.concurrency + 1,
            max_overflow=2,
            pre_ping=False,  # failures are retried; see Database
        )
        context = WorkerContext(settings=self.settings, sessionmaker=db.sessionmaker)
        self._wakes = [asyncio.Event() for _ in range(self.concurrency)]
        log.info("worker_started", queues=sorted(self.consumers), transport="table")
        listener = asyncio.create_task(self._listen())
        try:
            await asyncio.gather(*(self._loop(db, context, wake) for wake in self._wakes))
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await db.dispose()
            log.info("worker_stopped")

    def stop(self) -> None:
        self.stopping.set()
        for wake in self._wakes:
            wake.set()

    async def _listen(self) -> None:
        """Wake every loop on the relay's NOTIFY; reconnect when the database restarts
        (meanwhile the loops poll)."""
        assert self.settings.database_url
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    libpq_url(self.settings.database_url), autocommit=True
                ) as conn:
                    await conn.execute(f'LISTEN "{deliveries.CHANNEL}"')
                    async for _ in conn.notifies():
                        for wake in self._wakes:
                            wake.set()
            except _UNAVAILABLE as exc:
                log.debug("worker_listen_retrying", error=repr(exc))
                await asyncio.sleep(self.poll_interval)

    async def _loop(self, db: Database, context: WorkerContext, wake: asyncio.Event) -> None:
        names = list(self.consumers)
        visibility = self.settings.relay_visibility_timeout
        while not self.stopping.is_set():
            wake.clear()  # before the take: a NOTIFY after it is not missed
            try:
                async with db.engine.begin() as conn:
                    rows = await deliveries.take_due(conn, names, self.batch_size, visibility)
            except _UNAVAILABLE as exc:
                log.warning("worker_retrying", error=repr(exc))
                await self._sleep(wake)
                continue
            if rows:
                await self._handle_batch(db, context, rows, time.monotonic() + visibility / 2)
            else:
                await self._sleep(wake)

    async def _sleep(self, wake: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), self.poll_interval)

    async def _handle_batch(
        self, db: Database, context: WorkerContext, rows: Sequence[dict[str, Any]], until: float
    ) -> None:
        done: list[Key] = []
        rest: list[Key] = []
        try:
            for row in rows:
                key = (row["event_id"], row["consumer"])
                if rest or self.stopping.is_set() or time.monotonic() > until:
                    rest.append(key)
                elif await self._handle_one(db, context, row):
                    done.append(key)
        finally:
            try:
                async with db.engine.begin() as conn:
                    await deliveries.confirm_many(conn, done)
                    await deliveries.release(conn, rest)
            except _UNAVAILABLE as exc:
                # Redone when their lease runs out: the consumers deduplicate.
                log.warning("worker_confirm_failed", count=len(done), error=repr(exc))

    async def _handle_one(self, db: Database, context: WorkerContext, row: dict[str, Any]) -> bool:
        """Handle one leased delivery; True when it is to be confirmed, False when its
        failure was recorded (due again after the backoff, or dead)."""
        name = row["consumer"]
        event = EventEnvelope.model_validate(row["envelope"])
        with consume_span(name, event, event.traceparent) as span:
            started = time.perf_counter()
            try:
                outcome = await consume(context, self.consumers[name], event)
            except Exception as exc:
                span.record_exception(exc)
                delay = RETRY_BACKOFF.delay(int(row["failures"]) + 1)
                try:
                    failures, dead = await record_failure(
                        db, self.settings, name, event, exc, delay
                    )
                except _UNAVAILABLE:
                    failures, dead = int(row["failures"]) + 1, False  # the lease runs out
                log_failed(
                    name, event, exc, failures=failures, dead=dead, retry_in=delay, started=started
                )
                return False
            log_consumed(name, event, outcome, started)
        return True


def run_table_worker(
    settings: Settings, consumers: Mapping[str, Consumer], *, concurrency: int
) -> None:
    """Run until SIGTERM/SIGINT; the batch in hand is finished (or handed back) first."""
    worker = TableWorker(settings, consumers, concurrency=max(1, concurrency))
    stop_periodic = threading.Event()
    for consumer in consumers.values():
        if consumer.periodic is not None:
            threading.Thread(
                target=periodic_loop, args=(settings, consumer, stop_periodic), daemon=True
            ).start()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        await worker.run()

    try:
        asyncio.run(main())
    finally:
        stop_periodic.set()
