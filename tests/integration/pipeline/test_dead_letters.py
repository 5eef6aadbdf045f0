"""A poison event is retried with backoff, dead-lettered, listed and replayed."""

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
    assert (event_id, failures) == (poison.id, 2)
    assert "MalformedEvent" in error and "start" in error  # parsed with its model
    wait_for(  # the other event was not held up
        lambda: query(
            db,
            "SELECT 1 FROM relay.deliveries WHERE event_id = %s AND confirmed_at IS NOT NULL",
            good.id,
        ),
        what="the good event's confirmation",
    )

    def cli(*args: str) -> str:
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

    listed = cli("list")
    assert str(poison.id) in listed and "MalformedEvent" in listed
    assert "replaying 1 deliveries" in cli("replay", "--consumer", "notifications")
    wait_for(
        lambda: query(
            db,
            "SELECT 1 FROM relay.deliveries WHERE event_id = %s AND dead_at IS NOT NULL "
            "AND publications >= 2",
            poison.id,
        ),
        what="the replayed delivery failing again",
    )
