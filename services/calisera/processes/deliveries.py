"""``relay.deliveries``: every statement on the table of (event, consumer) deliveries.

One row per event and consumer that wants it, from the relay's publication until the
consumer confirms it (or it is dead-lettered). Its life:

- **published** by the relay inside the transaction that marks the outbox rows sent
  (:func:`record_publications`, one statement per batch); **re-published** when not
  confirmed within the visibility timeout (:func:`take_overdue`, :func:`mark_republished`);
- **leased** by the worker while its consumer handles it (:func:`lease`; on the table
  queue, where no broker carries the message, :func:`take_due` takes a batch of due rows
  and leases them in one statement, and :func:`release` hands back what a stopping
  worker did not get to), then
  **confirmed** (:func:`confirm`) or its **failure recorded** (:func:`record_failure`),
  which dead-letters it after the last attempt, or at once for a permanent error;
- **listed** and **replayed** by ``calisera dlq`` (:func:`dead_letters`, :func:`replay`);
- **pruned** a while after confirmation (:func:`prune_confirmed`).

The relay and the dead-letter commands use synchronous psycopg connections, the worker
an async SQLAlchemy connection (``exec_driver_sql``, the same psycopg parameter style),
so each statement is written once. The table itself is created by the relay's migration
(``calisera/core/relay_migrations``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncConnection

from calisera.core.events import EventEnvelope

Row = dict[str, Any]
CHANNEL = "calisera_deliveries"
"""NOTIFY channel of the table queue: the relay's commit of due deliveries wakes workers."""
ERROR_LIMIT = 2000
"""Characters of an error kept in ``last_error``."""

_RECORD_PUBLICATIONS = """
INSERT INTO relay.deliveries AS d
  (event_id, consumer, source, event_type, aggregate_id, envelope,
   published_at, publications, next_attempt_at)
SELECT p.event_id, p.consumer, %(source)s, p.event_type, p.aggregate_id, p.envelope,
       now(), %(count)s, now() + make_interval(secs => %(visibility)s)
FROM unnest(%(event_ids)s::uuid[], %(consumers)s::text[], %(event_types)s::text[],
            %(aggregate_ids)s::uuid[], %(envelopes)s::jsonb[])
  AS p(event_id, consumer, event_type, aggregate_id, envelope)
ON CONFLICT (event_id, consumer) DO UPDATE
  SET published_at = now(), publications = d.publications + %(count)s,
      next_attempt_at = EXCLUDED.next_attempt_at
  WHERE d.confirmed_at IS NULL AND d.dead_at IS NULL
RETURNING event_id, consumer
"""

_TAKE_OVERDUE = """
SELECT event_id, consumer, envelope FROM relay.deliveries
WHERE confirmed_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
ORDER BY next_attempt_at
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

# Each re-publication waits twice as long as the one before (up to 16 visibility
# timeouts): a delivery that is only queued behind a backlog longer than the timeout must
# not be copied onto the queue again every timeout, which grows the backlog it waits in.
_MARK_REPUBLISHED = """
UPDATE relay.deliveries SET published_at = now(), publications = publications + 1,
  next_attempt_at = now()
    + make_interval(secs => %(visibility)s * least(power(2, publications), 16))
WHERE (event_id, consumer) IN (SELECT * FROM unnest(%(ids)s::uuid[], %(consumers)s::text[]))
"""

_LEASE = """
UPDATE relay.deliveries
SET next_attempt_at = greatest(next_attempt_at, now() + make_interval(secs => %(visibility)s))
WHERE event_id = %(event_id)s AND consumer = %(consumer)s
RETURNING confirmed_at, dead_at
"""

# The worker's two upserts: the relay publishes before its transaction commits, so a fast
# worker may get here before the relay's row is visible; the insert then waits for that
# commit and updates the row instead of missing it. (An event published by hand, not
# through the relay, gets its row here.)
_CONFIRM = """
INSERT INTO relay.deliveries
  (event_id, consumer, source, event_type, aggregate_id, envelope, next_attempt_at,
   confirmed_at)
VALUES (%(event_id)s, %(consumer)s, %(source)s, %(event_type)s, %(aggregate_id)s,
        %(envelope)s, now(), now())
ON CONFLICT (event_id, consumer) DO UPDATE SET confirmed_at = now()
  WHERE relay.deliveries.confirmed_at IS NULL
"""

# The table queue (no broker: the rows are the queue). A due row is leased for the
# visibility timeout; a worker killed while holding it leaves it due again after that.
_TAKE_DUE = """
UPDATE relay.deliveries AS d
SET next_attempt_at = now() + make_interval(secs => %(visibility)s),
    publications = d.publications + 1
FROM (
  SELECT event_id, consumer FROM relay.deliveries
  WHERE confirmed_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
    AND consumer = ANY(%(consumers)s::text[])
  ORDER BY next_attempt_at
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
) AS due
WHERE d.event_id = due.event_id AND d.consumer = due.consumer
RETURNING d.event_id, d.consumer, d.envelope, d.failures
"""

_CONFIRM_MANY = """
UPDATE relay.deliveries SET confirmed_at = now()
WHERE confirmed_at IS NULL
  AND (event_id, consumer) IN (SELECT * FROM unnest(%(ids)s::uuid[], %(consumers)s::text[]))
"""

_RELEASE = """
UPDATE relay.deliveries SET next_attempt_at = now()
WHERE confirmed_at IS NULL AND dead_at IS NULL
  AND (event_id, consumer) IN (SELECT * FROM unnest(%(ids)s::uuid[], %(consumers)s::text[]))
"""

_WAITING = """
SELECT consumer, count(*) AS waiting FROM relay.deliveries
WHERE confirmed_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
GROUP BY consumer
"""

_RECORD_FAILURE = """
INSERT INTO relay.deliveries AS d
  (event_id, consumer, source, event_type, aggregate_id, envelope, next_attempt_at,
   failures, last_error, dead_at)
VALUES (%(event_id)s, %(consumer)s, %(source)s, %(event_type)s, %(aggregate_id)s,
        %(envelope)s, now() + make_interval(secs => %(wait)s), 1, %(error)s,
        CASE WHEN %(permanent)s OR 1 >= %(max_attempts)s THEN now() END)
ON CONFLICT (event_id, consumer) DO UPDATE
  SET failures = d.failures + 1, last_error = EXCLUDED.last_error,
      next_attempt_at = EXCLUDED.next_attempt_at,
      dead_at = CASE WHEN %(permanent)s OR d.failures + 1 >= %(max_attempts)s THEN now() END
RETURNING failures, dead_at
"""

_DEAD_LETTERS = """
SELECT event_id, consumer, event_type, failures, dead_at, last_error
FROM relay.deliveries
WHERE dead_at IS NOT NULL AND (%(consumer)s::text IS NULL OR consumer = %(consumer)s)
ORDER BY dead_at
"""

_REPLAY = """
UPDATE relay.deliveries SET dead_at = NULL, failures = 0, next_attempt_at = now()
WHERE dead_at IS NOT NULL AND (%(consumer)s::text IS NULL OR consumer = %(consumer)s)
  AND (%(event_id)s::uuid IS NULL OR event_id = %(event_id)s)
"""

_PRUNE_CONFIRMED = """
DELETE FROM relay.deliveries WHERE confirmed_at < now() - make_interval(days => %(days)s)
"""

_COUNTS = """
SELECT consumer, count(*) FILTER (WHERE dead_at IS NULL) AS open,
       count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
FROM relay.deliveries WHERE confirmed_at IS NULL GROUP BY consumer
"""


# --- the relay (sync psycopg, dict rows) ------------------------------------------


def record_publications(
    conn: psycopg.Connection[Row],
    source: str,
    pairs: Sequence[tuple[str, Row]],
    visibility: float,
    *,
    table_queue: bool = False,
) -> set[tuple[UUID, str]]:
    """Record that the relay publishes these (consumer, outbox row) pairs now, in one
    statement; returns the (event id, consumer) pairs to publish: a pair already
    confirmed or dead (a re-run after a crash) is not. On the ``table_queue`` the row is
    the message: due at once, and ``publications`` counts the workers' takes instead."""
    if not pairs:
        return set()
    rows = conn.execute(
        _RECORD_PUBLICATIONS,
        {
            "source": source,
            "visibility": 0.0 if table_queue else visibility,
            "count": 0 if table_queue else 1,
            "event_ids": [r["id"] for _, r in pairs],
            "consumers": [c for c, _ in pairs],
            "event_types": [r["type"] for _, r in pairs],
            "aggregate_ids": [r["aggregate_id"] for _, r in pairs],
            "envelopes": [Jsonb(r["envelope"]) for _, r in pairs],
        },
    ).fetchall()
    return {(r["event_id"], r["consumer"]) for r in rows}


def notify_due(conn: psycopg.Connection[Row]) -> None:
    """Wake the table queue's workers when this transaction commits."""
    conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))


def take_overdue(conn: psycopg.Connection[Row], limit: int) -> list[Row]:
    """Deliveries unconfirmed past their visibility timeout, locked for re-publication."""
    return conn.execute(_TAKE_OVERDUE, {"limit": limit}).fetchall()


def mark_republished(conn: psycopg.Connection[Row], rows: Sequence[Row], visibility: float) -> None:
    conn.execute(
        _MARK_REPUBLISHED,
        {
            "visibility": visibility,
            "ids": [r["event_id"] for r in rows],
            "consumers": [r["consumer"] for r in rows],
        },
    )


def prune_confirmed(conn: psycopg.Connection[Row], keep_days: int) -> None:
    conn.execute(_PRUNE_CONFIRMED, {"days": keep_days})


def waiting_counts(conn: psycopg.Connection[Row]) -> dict[str, int]:
    """Per consumer: deliveries due now and not taken by a worker (the table queue's depth)."""
    return {r["consumer"]: int(r["waiting"]) for r in conn.execute(_WAITING)}


def unconfirmed_counts(conn: psycopg.Connection[Row]) -> list[Row]:
    """Per consumer: ``open`` (awaiting confirmation) and ``dead`` deliveries."""
    return conn.execute(_COUNTS).fetchall()


# --- the dead-letter commands (sync psycopg, dict rows) ---------------------------


def dead_letters(conn: psycopg.Connection[Row], consumer: str | None) -> list[Row]:
    return conn.execute(_DEAD_LETTERS, {"consumer": consumer}).fetchall()


def replay(conn: psycopg.Connection[Row], consumer: str | None, event_id: UUID | None) -> int:
    """Hand dead letters back to the relay (due now, failures reset); how many."""
    return conn.execute(_REPLAY, {"consumer": consumer, "event_id": event_id}).rowcount


# --- the worker (async SQLAlchemy connection) -------------------------------------


def _identity(consumer: str, event: EventEnvelope) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "consumer": consumer,
        "source": event.source,
        "event_type": event.type,
        "aggregate_id": event.aggregate_id,
        "envelope": Jsonb(event.model_dump(mode="json")),
    }


async def lease(conn: AsyncConnection, consumer: str, event_id: UUID, visibility: float) -> bool:
    """Extend the delivery's visibility while it is handled; False when it is already
    confirmed or dead (a duplicate message). True also when the relay's row is not
    visible yet or the event was published by hand."""
    row = (
        (
            await conn.exec_driver_sql(
                _LEASE, {"visibility": visibility, "event_id": event_id, "consumer": consumer}
            )
        )
        .mappings()
        .first()
    )
    return row is None or (row["confirmed_at"] is None and row["dead_at"] is None)


async def confirm(conn: AsyncConnection, consumer: str, event: EventEnvelope) -> None:
    """Mark the delivery handled, so the relay stops re-publishing it."""
    await conn.exec_driver_sql(_CONFIRM, _identity(consumer, event))


async def take_due(
    conn: AsyncConnection, consumers: Sequence[str], limit: int, visibility: float
) -> list[Row]:
    """Lease up to ``limit`` due deliveries of ``consumers`` for ``visibility`` seconds
    (rows another worker holds are skipped), oldest event first."""
    result = await conn.exec_driver_sql(
        _TAKE_DUE, {"consumers": list(consumers), "limit": limit, "visibility": visibility}
    )
    rows = [dict(r) for r in result.mappings()]
    rows.sort(key=lambda r: str(r["envelope"].get("occurred_at", "")))
    return rows


def _pairs(keys: Sequence[tuple[UUID, str]]) -> dict[str, Any]:
    return {"ids": [k[0] for k in keys], "consumers": [k[1] for k in keys]}


async def confirm_many(conn: AsyncConnection, keys: Sequence[tuple[UUID, str]]) -> None:
    """Confirm several handled (event id, consumer) deliveries in one statement."""
    if keys:
        await conn.exec_driver_sql(_CONFIRM_MANY, _pairs(keys))


async def release(conn: AsyncConnection, keys: Sequence[tuple[UUID, str]]) -> None:
    """Make leased deliveries due again at once (a stopping worker's untouched rest)."""
    if keys:
        await conn.exec_driver_sql(_RELEASE, _pairs(keys))


async def record_failure(
    conn: AsyncConnection,
    consumer: str,
    event: EventEnvelope,
    *,
    error: str,
    wait: float,
    max_attempts: int,
    permanent: bool,
) -> tuple[int, bool]:
    """Count a failed attempt and keep its error; the relay re-publishes it after ``wait``
    seconds unless it is now dead (the last attempt, or ``permanent``). -> (failures, dead)
    """
    params = _identity(consumer, event) | {
        "error": error[:ERROR_LIMIT],
        "wait": wait,
        "max_attempts": max_attempts,
        "permanent": permanent,
    }
    row = (await conn.exec_driver_sql(_RECORD_FAILURE, params)).mappings().one()
    return int(row["failures"]), row["dead_at"] is not None
