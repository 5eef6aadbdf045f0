"""The outbox relay against real PostgreSQL: order, concurrency, re-publication."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

from calisera.core.events import EventEnvelope
from calisera.processes.relay import Relay
from tests.integration.pipeline.conftest import (
    booking_event,
    ensure_bookings_outbox,
    insert_outbox,
    query,
)


class Recorder:
    """The relay's publish function, writing to a list (the broker is tested elsewhere)."""

    def __init__(self, fail_after: int | None = None):
        self.published: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        self.fail_after = fail_after

    def __call__(self, consumer: str, envelope: dict[str, Any]) -> None:
        with self.lock:
            if self.fail_after is not None and len(self.published) >= self.fail_after:
                raise ConnectionError("broker went away")
            self.published.append(
                (consumer, envelope["aggregate_id"], envelope["aggregate_version"])
            )
            time.sleep(0.001)  # widen the window between relays


def relay(database_url: str, publish: Recorder, **kw: Any) -> Relay:
    return Relay(
        database_url=database_url,
        routes={"notifications": lambda t: t.startswith("booking."), "analytics": lambda t: True},
        publish=publish,
        batch_size=7,
        **kw,
    )


@pytest.fixture
def db(database_url: str) -> str:
    ensure_bookings_outbox(database_url)
    return database_url


def test_concurrent_relays_keep_each_aggregates_order(db):
    events = []
    aggregates = [uuid.uuid4() for _ in range(15)]
    for version in (1, 2, 3, 4):
        for booking in aggregates:
            events.append(booking_event(booking_id=booking, version=version))
    insert_outbox(db, *events)
    recorder = Recorder()
    relays = [relay(db, recorder) for _ in range(3)]

    def drain(r: Relay) -> None:
        with r.connect() as conn:
            for _ in range(50):
                r.run_once(conn)

    threads = [threading.Thread(target=drain, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    for consumer in ("notifications", "analytics"):
        seen = [(a, v) for c, a, v in recorder.published if c == consumer]
        assert len(seen) == len(events)  # each exactly once per consumer
        for booking in aggregates:
            assert [v for a, v in seen if a == str(booking)] == [1, 2, 3, 4]
    assert query(db, "SELECT count(*) FROM bookings.outbox WHERE published_at IS NULL") == [(0,)]


def test_unconfirmed_delivery_is_published_again_until_confirmed(db):
    event = booking_event()
    insert_outbox(db, event)
    recorder = Recorder()
    r = relay(db, recorder, visibility_timeout=0.3)
    with r.connect() as conn:
        r.run_once(conn)
        assert len(recorder.published) == 2
        time.sleep(0.4)
        r.run_once(conn)  # neither consumer confirmed: both get it again
        assert len(recorder.published) == 4
        query(
            db,
            "UPDATE relay.deliveries SET confirmed_at = now() WHERE event_id = %s "
            "AND consumer = 'notifications' RETURNING 1",
            event.id,
        )
        time.sleep(0.4)
        r.run_once(conn)  # the second re-publication waits twice the timeout: not yet
        assert len(recorder.published) == 4
        time.sleep(0.3)
        r.run_once(conn)
    assert [c for c, _, _ in recorder.published[4:]] == ["analytics"]
    [(publications,)] = query(
        db,
        "SELECT publications FROM relay.deliveries WHERE event_id = %s AND consumer = 'analytics'",
        event.id,
    )
    assert publications == 3


def test_broker_failure_before_mark_publishes_again(db):
    events = [booking_event() for _ in range(3)]
    insert_outbox(db, *events)
    failing = Recorder(fail_after=2)
    r = relay(db, failing)
    with r.connect() as conn, pytest.raises(ConnectionError):
        r.run_once(conn)
    # nothing was marked: the transaction that would have marked the batch rolled back
    assert query(db, "SELECT count(*) FROM bookings.outbox WHERE published_at IS NULL") == [(3,)]
    recorder = Recorder()
    r2 = relay(db, recorder)
    with r2.connect() as conn:
        r2.run_once(conn)
    assert len(recorder.published) == 6  # at least once: consumers deduplicate


def test_every_schema_with_an_outbox_is_relayed(db):
    query(db, "CREATE SCHEMA extra; CREATE TABLE extra.outbox (LIKE bookings.outbox INCLUDING ALL)")
    event = EventEnvelope(  # the relay routes by type; it never reads the data
        type="provider.updated", source="extra", aggregate_id=uuid.uuid4(), aggregate_version=1
    )
    with_schema = event.model_dump(mode="json")
    query(
        db,
        "INSERT INTO extra.outbox (id, type, aggregate_id, aggregate_version, occurred_at, "
        "envelope) VALUES (%s, %s, %s, 1, now(), %s::jsonb)",
        event.id,
        event.type,
        event.aggregate_id,
        json.dumps(with_schema),
    )
    recorder = Recorder()
    r = relay(db, recorder)
    with r.connect() as conn:
        r.run_once(conn)
    assert recorder.published == [("analytics", str(event.aggregate_id), 1)]
    assert query(db, "SELECT count(*) FROM extra.outbox WHERE published_at IS NULL") == [(0,)]


def test_relay_is_woken_by_notify(db):
    recorder = Recorder()
    r = relay(db, recorder, poll_interval=30.0)
    thread = threading.Thread(target=r.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # let it reach its wait
        insert_outbox(db, booking_event())
        deadline = time.monotonic() + 10
        while len(recorder.published) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(recorder.published) == 2  # well before the 30 s poll
    finally:
        r.stop_event.set()
        insert_outbox(db, booking_event())  # wake it so it sees the stop
        thread.join(10)


def test_relay_process_serves_backlog_and_lag_metrics(db, tmp_path):
    import os
    import subprocess
    import sys

    import httpx

    from tests.integration.pipeline.conftest import ROOT, free_port

    # a backlog the relay cannot move: the broker is unreachable
    insert_outbox(db, booking_event(), booking_event())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALISERA_")}
    env.update(
        DATABASE_URL=db,
        CALISERA_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}//",
        PYTHONPATH=str(ROOT / "services"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "calisera.cli", "relay", "--metrics-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "relay.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        body = ""
        while time.monotonic() < deadline:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            if 'calisera_relay_backlog{schema="bookings"} 2.0' in body:
                break
            time.sleep(0.2)
        assert 'calisera_relay_backlog{schema="bookings"} 2.0' in body, (
            tmp_path / "relay.log"
        ).read_text()
        assert 'calisera_relay_lag_seconds{schema="bookings"}' in body
    finally:
        proc.terminate()
        proc.wait(20)


def test_old_confirmed_deliveries_and_consumed_broker_rows_are_pruned(db, settings):
    from calisera.core.queue import create_celery
    from calisera.processes.relay import celery_publisher

    old, open_ = booking_event(), booking_event()
    insert_outbox(db, old, open_)
    embedded = settings.with_changes(broker_url=None, database_url=db)
    r = relay(db, Recorder())
    r.publish = celery_publisher(create_celery(embedded), embedded)  # the embedded broker
    with r.connect() as conn:
        r.run_once(conn)
        # one message taken long ago (consumed, or its worker died); the others wait
        query(
            db,
            "UPDATE public.kombu_message SET visible = false, "
            "\"timestamp\" = localtimestamp - interval '2 hours' "
            "WHERE id = (SELECT min(id) FROM public.kombu_message)",
        )
        query(
            db,
            "UPDATE relay.deliveries SET confirmed_at = now() - interval '8 days' "
            "WHERE event_id = %s",
            old.id,
        )
        r.prune(conn)
    rows = query(db, "SELECT DISTINCT event_id FROM relay.deliveries")
    assert rows == [(open_.id,)]
    assert query(db, "SELECT count(*), bool_and(visible) FROM public.kombu_message") == [(3, True)]


def test_unconfirmed_gauge_falls_to_zero_once_all_are_confirmed(db):
    """A consumer with nothing unconfirmed has no row in the counts: its gauge must say
    0, not keep its last backlog (nor vanish)."""
    from calisera.processes.relay import DEAD, UNCONFIRMED

    event = booking_event()
    insert_outbox(db, event)
    r = relay(db, Recorder())
    with r.connect() as conn:
        r.run_once(conn)
        r.update_metrics(conn)
        assert UNCONFIRMED.labels("notifications")._value.get() >= 1
        query(
            db,
            "UPDATE relay.deliveries SET confirmed_at = now() WHERE confirmed_at IS NULL"
            " RETURNING 1",
        )
        r.update_metrics(conn)
    for consumer in ("notifications", "analytics"):
        assert UNCONFIRMED.labels(consumer)._value.get() == 0
        assert DEAD.labels(consumer)._value.get() == 0
