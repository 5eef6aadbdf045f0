"""The table queue (no broker): workers competing for the ``relay.deliveries`` rows.

Real PostgreSQL, the real relay (``publish=None``) and real :class:`TableWorker` loops in
this process, with consumers that record every call and deduplicate nothing
(``processed=None``): a delivery handed to two loops at once would show as two calls.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.consumers import Consumer
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.processes.relay import Relay
from calisera.processes.table_worker import TableWorker
from tests.integration.pipeline.conftest import (
    booking_event,
    ensure_bookings_outbox,
    insert_outbox,
    query,
)

pytestmark = pytest.mark.timeout(120)


def counting(name: str, calls: Counter[uuid.UUID], fail_first: set[uuid.UUID]) -> Consumer:
    """A consumer that counts its calls and fails the first call of ``fail_first``."""

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        calls[event.id] += 1
        await asyncio.sleep(0.002)  # widen the window between competing loops
        if event.id in fail_first:
            fail_first.discard(event.id)
            raise RuntimeError("a transient failure")

    return Consumer(name=name, event_types=("booking.*",), handle=handle, processed=None)


async def relay_all(settings: Settings, consumers: list[str]) -> None:
    assert settings.database_url
    relay = Relay(
        database_url=settings.database_url,
        routes={name: (lambda t: True) for name in consumers},
        publish=None,
        batch_size=40,
    )

    def once() -> None:
        with relay.connect() as conn:
            relay.run_once(conn)

    await asyncio.to_thread(once)


async def until_confirmed(db: str, count: int, within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        [(confirmed,)] = query(
            db, "SELECT count(*) FROM relay.deliveries WHERE confirmed_at IS NOT NULL"
        )
        if confirmed >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not every delivery was confirmed within {within}s")


async def run_workers(workers: list[TableWorker], db: str, count: int) -> None:
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        await until_confirmed(db, count)
    finally:
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks)


async def test_competing_workers_handle_every_delivery_once(settings: Settings) -> None:
    """Two workers of three loops each, two consumers, 240 events: every (event,
    consumer) is handled exactly once and confirmed; nothing is left due."""
    assert settings.database_url
    db = settings.database_url
    ensure_bookings_outbox(db)
    settings = settings.with_changes(relay_poll_interval=0.2)
    events = [booking_event() for _ in range(240)]
    insert_outbox(db, *events)
    calls: dict[str, Counter[uuid.UUID]] = {"alpha": Counter(), "beta": Counter()}
    consumers = {name: counting(name, c, set()) for name, c in calls.items()}
    workers = [TableWorker(settings, consumers, concurrency=3, batch_size=7) for _ in range(2)]
    await relay_all(settings, list(consumers))

    await run_workers(workers, db, count=2 * len(events))

    for name, counter in calls.items():
        assert set(counter) == {e.id for e in events}, name
        assert max(counter.values()) == 1, f"{name}: {counter.most_common(3)}"
    assert query(
        db,
        "SELECT count(*), min(publications), max(publications) FROM relay.deliveries "
        "WHERE confirmed_at IS NOT NULL AND failures = 0",
    ) == [(2 * len(events), 1, 1)]


async def test_a_failed_delivery_is_due_again_after_its_backoff(settings: Settings) -> None:
    """The failure is recorded with its error, the row waits out its backoff, then the
    next take handles it; the others were not held up."""
    assert settings.database_url
    db = settings.database_url
    ensure_bookings_outbox(db)
    settings = settings.with_changes(relay_poll_interval=0.2)
    flaky, steady = booking_event(), booking_event()
    insert_outbox(db, flaky, steady)
    calls: Counter[uuid.UUID] = Counter()
    consumers = {"alpha": counting("alpha", calls, {flaky.id})}
    await relay_all(settings, ["alpha"])

    await run_workers([TableWorker(settings, consumers)], db, count=2)

    assert calls == Counter({flaky.id: 2, steady.id: 1})
    rows: list[Any] = query(
        db,
        "SELECT failures, last_error, publications FROM relay.deliveries WHERE event_id = %s",
        flaky.id,
    )
    assert rows[0][0] == 1 and "a transient failure" in rows[0][1] and rows[0][2] == 2


async def test_a_stopping_worker_hands_back_what_it_did_not_start(settings: Settings) -> None:
    """Stopped in the middle of a batch: the delivery in hand finishes and is confirmed,
    the rest of the batch is due again at once (not after the visibility timeout)."""
    assert settings.database_url
    db = settings.database_url
    ensure_bookings_outbox(db)
    settings = settings.with_changes(relay_visibility_timeout=300.0)
    events = [booking_event() for _ in range(10)]
    insert_outbox(db, *events)
    started = asyncio.Event()
    worker: TableWorker | None = None

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        started.set()
        assert worker is not None
        worker.stop()  # the stop arrives while this delivery is handled
        await asyncio.sleep(0.05)

    consumer = Consumer(name="alpha", event_types=("*",), handle=handle, processed=None)
    worker = TableWorker(settings, {"alpha": consumer}, batch_size=10)
    await relay_all(settings, ["alpha"])
    await asyncio.wait_for(worker.run(), 30)

    assert started.is_set()
    assert query(
        db,
        "SELECT count(*) FILTER (WHERE confirmed_at IS NOT NULL), "
        "count(*) FILTER (WHERE confirmed_at IS NULL AND next_attempt_at <= now()) "
        "FROM relay.deliveries",
    ) == [(1, 9)]
