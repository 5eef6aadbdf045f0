"""A poison event is retried with backoff, dead-lettered, listed and replayed; an event
the consumer can never handle (a permanent error) is dead-lettered at once."""

from __future__ import annotations

import subprocess
import sys

from tests.integration.pipeline.conftest import (
    ROOT,
    booking_event,
    insert_outbox,
    query,
    wait_for,
)


def dlq(pipeline, *args: str) -> str:
    """``calisera dlq ...`` as an operator runs it, against the pipeline's database."""
    done = subprocess.run(
        [sys.executable, "-m", "calisera.cli", "dlq", *args],
        cwd=ROOT,
        env=pipeline.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_poison_event_is_dead_lettered_then_replayed(make_pipeline):
    pipeline = make_pipeline("embedded", delivery_max_attempts=2)
    pipeline.start_worker()
    pipeline.start_relay()
    poison = booking_event()
    del poison.data["start"]  # the consumer cannot handle it
    good = booking_event()
    insert_outbox(pipeline.settings.database_url, poison, good)
    db = pipeline.settings.database_url

    wait_for(
        lambda: query(db, "SELECT 1 FROM relay.deliveries WHERE dead_at IS NOT NULL"),
        what="the dead letter",
    )
    [(event_id, failures, error)] = query(
        db, "SELECT event_id, failures, last_error FROM relay.deliveries WHERE dead_at IS NOT NULL"
    )
    assert (event_id, failures) == (poison.id, 1)  # permanent: dead at the first failure
    assert "MalformedEvent" in error and "start" in error  # parsed with its model
    wait_for(  # the other event was not held up
        lambda: query(
            db,
            "SELECT 1 FROM relay.deliveries WHERE event_id = %s AND confirmed_at IS NOT NULL",
            good.id,
        ),
        what="the good event's confirmation",
    )

    listed = dlq(pipeline, "list")
    assert str(poison.id) in listed and "MalformedEvent" in listed
    assert "replaying 1 deliveries" in dlq(pipeline, "replay", "--consumer", "notifications")
    wait_for(
        lambda: query(
            db,
            "SELECT 1 FROM relay.deliveries WHERE event_id = %s AND dead_at IS NOT NULL "
            "AND publications >= 2",
            poison.id,
        ),
        what="the replayed delivery failing again",
    )


def test_unsupported_event_version_is_dead_lettered_at_once_with_its_error(make_pipeline):
    pipeline = make_pipeline("embedded", delivery_max_attempts=6)
    pipeline.start_worker(command=("tests.integration.pipeline.strict_worker", "notifications"))
    pipeline.start_relay()
    future = booking_event()
    future.version = 2  # a major version this consumer was not written for
    known = booking_event()
    insert_outbox(pipeline.settings.database_url, future, known)
    db = pipeline.settings.database_url

    [(failures, error)] = wait_for(
        lambda: query(
            db,
            "SELECT failures, last_error FROM relay.deliveries "
            "WHERE event_id = %s AND consumer = 'notifications' AND dead_at IS NOT NULL",
            future.id,
        ),
        what="the dead letter",
    )
    assert failures == 1  # no retries: retrying cannot make version 2 known
    assert "UnsupportedEventVersion" in error and "booking.created version 2" in error
    assert "delivery_failed" not in pipeline.logs()
    wait_for(  # the known version is handled and confirmed as usual
        lambda: query(
            db,
            "SELECT 1 FROM relay.deliveries WHERE event_id = %s AND confirmed_at IS NOT NULL",
            known.id,
        ),
        what="the version 1 event's confirmation",
    )

    listed = dlq(pipeline, "list", "--consumer", "notifications")
    assert str(future.id) in listed
    assert "UnsupportedEventVersion" in listed and "this consumer knows version 1" in listed
    assert "replaying 1 deliveries" in dlq(pipeline, "replay", "--event-id", str(future.id))
    wait_for(  # published again by the relay, refused again by the same consumer
        lambda: query(
            db,
            "SELECT 1 FROM relay.deliveries WHERE event_id = %s AND dead_at IS NOT NULL "
            "AND publications >= 2 AND failures = 1",
            future.id,
        ),
        what="the replayed delivery dead-lettered again",
    )
