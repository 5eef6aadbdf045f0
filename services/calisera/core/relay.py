"""The outbox relay: moves committed events of every service to the consumer queues.

Infrastructure, not a service: it imports no service. It finds the outboxes in the
database (every schema with an ``outbox`` table) and is given a routing table
(consumer name -> which event types it wants) by :mod:`calisera.pipeline`.

Guarantees
- **In order per aggregate.** A batch takes only rows that have no earlier unpublished
  row of the same aggregate, locked ``FOR UPDATE SKIP LOCKED``: several relays may run,
  and while one holds the oldest row of an aggregate the others skip the whole
  aggregate.
- **At least once.** Publishing happens inside the transaction that marks the rows
  sent; a relay killed in between publishes them again, consumers deduplicate.
- **End to end, whatever the broker.** Each (event, consumer) gets a row in
  ``relay.deliveries``; the worker confirms it after the consumer's transaction commits.
  A delivery not confirmed within the visibility timeout (worker killed with SIGKILL, a
  broker that dropped the message) is published again, with growing attempts, until
  confirmed or dead-lettered by the worker after its retries (``calisera dlq``).
- **Woken by NOTIFY** on ``calisera_outbox`` (sent at commit by ``record_event``), with a
  polling fallback.

Metrics: ``calisera_relay_backlog`` (unpublished rows per schema),
``calisera_relay_lag_seconds`` (age of the oldest unpublished row),
``calisera_relay_unconfirmed`` / ``calisera_relay_dead_letters`` per consumer, counters
of published and re-published messages.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from prometheus_client import Counter, Gauge
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from calisera.core.database import libpq_url
from calisera.core.outbox import OUTBOX_CHANNEL

log = structlog.get_logger("calisera.relay")

Publish = Callable[[str, dict[str, Any]], None]
"""``publish(consumer, envelope)``: put one event on that consumer's queue; raises
:class:`PublishFailed` when the broker cannot take it."""


class PublishFailed(Exception):
    """The broker is unreachable or refused the message; the batch is retried later."""


BACKLOG = Gauge("calisera_relay_backlog", "Outbox rows not yet published.", ["schema"])
LAG = Gauge("calisera_relay_lag_seconds", "Age of the oldest unpublished outbox row.", ["schema"])
UNCONFIRMED = Gauge(
    "calisera_relay_unconfirmed", "Published deliveries not yet confirmed.", ["consumer"]
)
DEAD = Gauge("calisera_relay_dead_letters", "Dead-lettered deliveries.", ["consumer"])
PUBLISHED = Counter("calisera_relay_published_total", "Messages published.", ["consumer"])
REPUBLISHED = Counter(
    "calisera_relay_republished_total",
    "Messages published again after the visibility timeout.",
    ["consumer"],
)

_FIND_OUTBOXES = """
SELECT table_schema FROM information_schema.tables
WHERE table_name = 'outbox' AND table_type = 'BASE TABLE'
  AND table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY table_schema
"""

_TAKE_HEADS = """
SELECT o.seq, o.id, o.type, o.aggregate_id, o.envelope
FROM {outbox} o
WHERE o.published_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM {outbox} p
    WHERE p.aggregate_id = o.aggregate_id AND p.published_at IS NULL AND p.seq < o.seq
  )
ORDER BY o.seq
LIMIT %(limit)s
FOR UPDATE OF o SKIP LOCKED
"""

_RECORD_DELIVERY = """
INSERT INTO relay.deliveries
  (event_id, consumer, source, event_type, aggregate_id, envelope,
   published_at, publications, next_attempt_at)
VALUES (%(event_id)s, %(consumer)s, %(source)s, %(type)s, %(aggregate_id)s, %(envelope)s,
        now(), 1, now() + make_interval(secs => %(visibility)s))
ON CONFLICT (event_id, consumer) DO UPDATE
  SET published_at = now(), publications = relay.deliveries.publications + 1,
      next_attempt_at = EXCLUDED.next_attempt_at
  WHERE relay.deliveries.confirmed_at IS NULL AND relay.deliveries.dead_at IS NULL
RETURNING consumer
"""

_TAKE_OVERDUE = """
SELECT event_id, consumer, envelope FROM relay.deliveries
WHERE confirmed_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
ORDER BY next_attempt_at
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""


@dataclass
class Relay:
    """One relay process's loop. ``routes`` maps a consumer name to its ``wants(type)``."""

    database_url: str
    routes: Mapping[str, Callable[[str], bool]]
    publish: Publish
    visibility_timeout: float = 60.0
    poll_interval: float = 1.0
    batch_size: int = 100
    metrics_interval: float = 2.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    _schemas: list[str] = field(default_factory=list)
    _schemas_at: float = 0.0
    _metrics_at: float = 0.0
    prune_interval: float = 60.0
    keep_confirmed_days: int = 7
    _pruned_at: float = 0.0

    def connect(self, *, autocommit: bool = False) -> psycopg.Connection[dict[str, Any]]:
        return psycopg.connect(
            libpq_url(self.database_url), autocommit=autocommit, row_factory=dict_row
        )

    def outbox_schemas(self, conn: psycopg.Connection[dict[str, Any]]) -> list[str]:
        """Schemas with an outbox, re-read every 30 s (a newly migrated service joins)."""
        if not self._schemas or time.monotonic() - self._schemas_at > 30:
            with conn.transaction():
                self._schemas = [r["table_schema"] for r in conn.execute(_FIND_OUTBOXES)]
            self._schemas_at = time.monotonic()
        return self._schemas

    def publish_outbox(self, conn: psycopg.Connection[dict[str, Any]], schema: str) -> int:
        """Publish one batch of aggregate heads from ``schema``'s outbox; rows published."""
        outbox = sql.Identifier(schema, "outbox")
        with conn.transaction():
            rows = conn.execute(
                sql.SQL(_TAKE_HEADS).format(outbox=outbox), {"limit": self.batch_size}
            ).fetchall()
            if not rows:
                return 0
            for row in rows:
                for consumer, wants in self.routes.items():
                    if not wants(row["type"]):
                        continue
                    recorded = conn.execute(
                        _RECORD_DELIVERY,
                        {
                            "event_id": row["id"],
                            "consumer": consumer,
                            "source": schema,
                            "type": row["type"],
                            "aggregate_id": row["aggregate_id"],
                            "envelope": Jsonb(row["envelope"]),
                            "visibility": self.visibility_timeout,
                        },
                    ).fetchone()
                    if recorded is not None:  # not already confirmed (a re-run after a crash)
                        self.publish(consumer, row["envelope"])
                        PUBLISHED.labels(consumer).inc()
            conn.execute(
                sql.SQL(
                    "UPDATE {outbox} SET published_at = now(), attempts = attempts + 1 "
                    "WHERE seq = ANY(%(seqs)s)"
                ).format(outbox=outbox),
                {"seqs": [r["seq"] for r in rows]},
            )
        return len(rows)

    def republish_overdue(self, conn: psycopg.Connection[dict[str, Any]]) -> int:
        """Publish again what a consumer has not confirmed within the visibility timeout."""
        with conn.transaction():
            rows = conn.execute(_TAKE_OVERDUE, {"limit": self.batch_size}).fetchall()
            for row in rows:
                self.publish(row["consumer"], row["envelope"])
                REPUBLISHED.labels(row["consumer"]).inc()
            if rows:
                conn.execute(
                    "UPDATE relay.deliveries SET published_at = now(), "
                    "publications = publications + 1, "
                    "next_attempt_at = now() + make_interval(secs => %(visibility)s) "
                    "WHERE (event_id, consumer) IN "
                    "(SELECT * FROM unnest(%(ids)s::uuid[], %(consumers)s::text[]))",
                    {
                        "visibility": self.visibility_timeout,
                        "ids": [r["event_id"] for r in rows],
                        "consumers": [r["consumer"] for r in rows],
                    },
                )
        if rows:
            log.info("relay_republished", count=len(rows))
        return len(rows)

    def run_once(self, conn: psycopg.Connection[dict[str, Any]]) -> int:
        """Publish everything pending now (all batches) and what is overdue; count."""
        total = 0
        while True:
            moved = sum(self.publish_outbox(conn, s) for s in self.outbox_schemas(conn))
            moved += self.republish_overdue(conn)
            total += moved
            if moved == 0:
                break
        if time.monotonic() - self._metrics_at > self.metrics_interval:
            self.update_metrics(conn)
        if time.monotonic() - self._pruned_at > self.prune_interval:
            self.prune(conn)
        return total

    def prune(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        """Forget confirmed deliveries after a week, and the embedded broker's consumed
        messages (kombu's SQLAlchemy transport keeps them, invisible, forever; an old
        invisible one was either acknowledged or its worker died, and then the
        delivery is re-published from ``relay.deliveries`` anyway)."""
        self._pruned_at = time.monotonic()
        with conn.transaction():
            conn.execute(
                "DELETE FROM relay.deliveries WHERE confirmed_at < now() - make_interval("
                "days => %(days)s)",
                {"days": self.keep_confirmed_days},
            )
            kombu = conn.execute("SELECT to_regclass('public.kombu_message') AS t").fetchone()
            if kombu is not None and kombu["t"] is not None:
                conn.execute(
                    "DELETE FROM public.kombu_message WHERE visible = false "
                    "AND \"timestamp\" < localtimestamp - interval '1 hour'"
                )

    def update_metrics(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self._metrics_at = time.monotonic()
        with conn.transaction():
            for schema in self.outbox_schemas(conn):
                row = conn.execute(
                    sql.SQL(
                        "SELECT count(*) AS n, "
                        "coalesce(extract(epoch FROM now() - min(occurred_at)), 0) AS lag "
                        "FROM {} WHERE published_at IS NULL"
                    ).format(sql.Identifier(schema, "outbox"))
                ).fetchone()
                assert row is not None
                BACKLOG.labels(schema).set(row["n"])
                LAG.labels(schema).set(float(row["lag"]))
            for row in conn.execute(
                "SELECT consumer, count(*) FILTER (WHERE dead_at IS NULL) AS open, "
                "count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead FROM relay.deliveries "
                "WHERE confirmed_at IS NULL GROUP BY consumer"
            ):
                UNCONFIRMED.labels(row["consumer"]).set(row["open"])
                DEAD.labels(row["consumer"]).set(row["dead"])

    def run(self) -> None:
        """Until :attr:`stop_event` is set: publish, then sleep until NOTIFY or the poll."""
        listener = self.connect(autocommit=True)
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(OUTBOX_CHANNEL)))
        conn = self.connect()
        log.info("relay_started", routes=sorted(self.routes))
        try:
            while not self.stop_event.is_set():
                try:
                    self.run_once(conn)
                except PublishFailed as exc:
                    # Nothing was marked (the batch's transaction rolled back): retry later.
                    log.warning("relay_publish_failed", error=str(exc))
                    self.update_metrics(conn)
                    self.stop_event.wait(self.poll_interval)
                    continue
                except (psycopg.OperationalError, OSError) as exc:
                    log.warning("relay_retrying", error=str(exc))
                    conn.close()
                    self.stop_event.wait(self.poll_interval)
                    conn = self.connect()
                    continue
                self._wait(listener)
        finally:
            conn.close()
            listener.close()
            log.info("relay_stopped")

    def _wait(self, listener: psycopg.Connection[Any]) -> None:
        """Sleep until a NOTIFY (or the poll interval); drain every pending notification."""
        ready, _, _ = select.select([listener.fileno()], [], [], self.poll_interval)
        if ready:
            for _ in listener.notifies(timeout=0):
                pass
