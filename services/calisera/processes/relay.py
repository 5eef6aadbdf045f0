"""The outbox relay process (``calisera relay``): moves committed events of every
service to the consumer queues.

It finds the outboxes in the database (every schema with an ``outbox`` table) and routes
each event to the consumers that want it (:mod:`calisera.processes.routing`), one
``calisera.deliver`` task per (event, consumer) on that consumer's Celery queue. Its
bookkeeping of those deliveries is :mod:`calisera.processes.deliveries`.

Without a broker (``CALISERA_BROKER_URL`` unset: ``calisera up``) there is no Celery
message at all: the ``relay.deliveries`` rows are the queue (:mod:`.table_worker`). The
relay records them due at once and NOTIFYs the workers; re-publication is the workers
taking a lease that ran out. (A broker on the same PostgreSQL, kombu's SQLAlchemy
transport, did the same work twice and cost ~90 % of the relay's CPU and half the
worker's: see docs/performance.md.)

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
  broker that dropped the message) is published again, each time after twice the wait
  before (up to 16 timeouts, so a long queue is not flooded with copies), until
  confirmed or dead-lettered by the worker after its retries (``calisera dlq``).
- **Woken by NOTIFY** on ``calisera_outbox`` (sent at commit by ``record_event``), with a
  polling fallback.

Metrics: ``calisera_relay_backlog`` (unpublished rows per schema),
``calisera_relay_lag_seconds`` (age of the oldest unpublished row),
``calisera_relay_unconfirmed`` / ``calisera_relay_dead_letters`` per consumer, counters
of published and re-published messages, ``calisera_queue_depth`` (messages waiting in
each consumer's broker queue).
"""

from __future__ import annotations

import select
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
import structlog
from opentelemetry import propagate, trace
from prometheus_client import Counter, Gauge
from psycopg import sql
from psycopg.rows import dict_row

from calisera.core.database import libpq_url
from calisera.core.events import current_traceparent
from calisera.core.metrics import serve_metrics
from calisera.core.outbox import OUTBOX_CHANNEL
from calisera.core.queue import DELIVER_TASK, create_celery, queue_name, uses_table_queue
from calisera.core.settings import Settings
from calisera.core.telemetry import configure_tracing
from calisera.processes import deliveries
from calisera.processes.erasures import forget_erased
from calisera.processes.routing import Routes, load_consumers, matchers, routes_of

if TYPE_CHECKING:  # Celery only with a broker: the table queue imports none of it
    from celery import Celery

log = structlog.get_logger("calisera.relay")
tracer = trace.get_tracer("calisera.relay")

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
QUEUE_DEPTH = Gauge(
    "calisera_queue_depth",
    "Messages waiting in a consumer's broker queue (not yet taken by a worker).",
    ["consumer"],
)
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


@dataclass
class Relay:
    """One relay process's loop. ``routes`` maps a consumer name to its ``wants(type)``."""

    database_url: str
    routes: Mapping[str, Callable[[str], bool]]
    publish: Publish | None
    """None: the table queue (no broker; workers take the due rows themselves)."""
    visibility_timeout: float = 60.0
    poll_interval: float = 1.0
    batch_size: int = 100
    metrics_interval: float = 2.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    _schemas: list[str] = field(default_factory=list)
    _schemas_at: float = 0.0
    _metrics_at: float = 0.0
    queue_depth: Callable[[str], int | None] | None = None
    """``queue_depth(consumer)``: messages waiting in its broker queue (None: unknown)."""
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
            pairs = [
                (consumer, row)
                for row in rows
                for consumer, wants in self.routes.items()
                if wants(row["type"])
            ]
            table_queue = self.publish is None
            if table_queue:
                # The recorded row is the message, and carries the trace on from this
                # relay's span.
                pairs = [(consumer, _enqueued(consumer, row)) for consumer, row in pairs]
            due = deliveries.record_publications(
                conn, schema, pairs, self.visibility_timeout, table_queue=table_queue
            )
            if due and table_queue:
                deliveries.notify_due(conn)
            for consumer, row in pairs:
                if (row["id"], consumer) in due:
                    if self.publish is not None:
                        with _publish_span(consumer, row["envelope"]):
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
        """Publish again what a consumer has not confirmed within the visibility timeout
        (on the table queue a worker takes an expired lease itself: nothing to do)."""
        if self.publish is None:
            return 0
        publish = self.publish
        with conn.transaction():
            rows = deliveries.take_overdue(conn, self.batch_size)
            for row in rows:
                with _publish_span(row["consumer"], row["envelope"]):
                    publish(row["consumer"], row["envelope"])
                REPUBLISHED.labels(row["consumer"]).inc()
            if rows:
                deliveries.mark_republished(conn, rows, self.visibility_timeout)
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
        delivery is re-published from ``relay.deliveries`` anyway), and what the
        transport keeps of erased accounts and providers (:mod:`.erasures`)."""
        self._pruned_at = time.monotonic()
        with conn.transaction():
            deliveries.prune_confirmed(conn, self.keep_confirmed_days)
            forget_erased(conn, self.outbox_schemas(conn))
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
            # A consumer whose deliveries are all confirmed has no row: it is 0 (not
            # absent, and not stuck at its last backlog).
            counts = {row["consumer"]: row for row in deliveries.unconfirmed_counts(conn)}
            for consumer in {*self.routes, *counts}:
                row = counts.get(consumer)
                UNCONFIRMED.labels(consumer).set(row["open"] if row else 0)
                DEAD.labels(consumer).set(row["dead"] if row else 0)
            if self.publish is None:
                waiting = deliveries.waiting_counts(conn)
                for consumer in self.routes:
                    QUEUE_DEPTH.labels(consumer).set(waiting.get(consumer, 0))
        if self.queue_depth is not None:
            for consumer in self.routes:
                depth = self.queue_depth(consumer)
                if depth is not None:
                    QUEUE_DEPTH.labels(consumer).set(depth)

    def run(self) -> None:
        """Until :attr:`stop_event` is set: publish, then sleep until NOTIFY or the poll."""
        for consumer in self.routes:  # every series exists before its first event
            PUBLISHED.labels(consumer)
            REPUBLISHED.labels(consumer)
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


def _publish_span(consumer: str, envelope: dict[str, Any]) -> Any:
    """The relay's span of one publication, a child of the producer's span (the
    envelope's ``traceparent``): the trace goes on through the relay."""
    traceparent = envelope.get("traceparent")
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else None
    return tracer.start_as_current_span(
        f"publish {envelope.get('type', 'event')}",
        context=parent,
        kind=trace.SpanKind.PRODUCER,
        attributes={"messaging.destination.name": consumer, "event.id": str(envelope.get("id"))},
    )


def _enqueued(consumer: str, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its envelope's ``traceparent`` naming the relay's span of this
    publication (same trace), as a broker message's header would."""
    with _publish_span(consumer, row["envelope"]):
        traceparent = current_traceparent()
    if traceparent is None:  # tracing off: the producer's stays
        return row
    return {**row, "envelope": {**row["envelope"], "traceparent": traceparent}}


# --- the process ------------------------------------------------------------------------


def celery_publisher(app: Celery, settings: Settings) -> Publish:
    """Publish as one ``calisera.deliver`` task on the consumer's queue, continuing the
    producer's trace through the ``traceparent`` header."""
    from kombu.exceptions import KombuError

    def publish(consumer: str, envelope: dict[str, Any]) -> None:
        traceparent = current_traceparent() or envelope.get("traceparent")
        headers = {"traceparent": traceparent} if traceparent else {}
        queue = queue_name(settings, consumer)
        try:
            app.send_task(
                DELIVER_TASK,
                args=[consumer, envelope],
                queue=queue,
                routing_key=queue,
                headers=headers,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
            )
        except (KombuError, OSError) as exc:
            raise PublishFailed(f"{queue}: {exc.__class__.__name__}: {exc}") from exc

    return publish


def celery_queue_depth(app: Celery, settings: Settings) -> Callable[[str], int | None]:
    """Messages waiting in a consumer's queue, asked of the broker (a passive declare:
    RabbitMQ's count, or the embedded transport's visible rows); None when it cannot say."""

    def depth(consumer: str) -> int | None:
        try:
            # A connection of its own, closed at once: the embedded transport's channel
            # would otherwise keep a transaction open on the broker tables between scrapes.
            with app.connection_for_read() as connection:
                # One attempt: the default channel would retry an unreachable broker
                # for minutes, and a stop signal must not wait for that.
                connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
                channel: Any = connection.default_channel  # kombu types it as a bare StdChannel
                declared = channel.queue_declare(queue=queue_name(settings, consumer), passive=True)
                return int(declared.message_count)
        except Exception as exc:  # a gauge left stale must not stop the relay
            log.debug("queue_depth_unknown", consumer=consumer, error=repr(exc))
            return None

    return depth


def build_relay(settings: Settings, app: Celery | None, routes: Routes | None = None) -> Relay:
    """The relay of ``settings``: publishing with ``app`` on its broker, or (``app`` None,
    see :func:`~calisera.core.queue.uses_table_queue`) onto the table queue; ``routes``
    as given (``up`` passes them), else the consumers' own."""
    assert settings.database_url, "the relay needs DATABASE_URL"
    if routes is None:
        routes = routes_of(load_consumers(settings))
    return Relay(
        database_url=settings.database_url,
        routes=matchers(routes),
        publish=celery_publisher(app, settings) if app is not None else None,
        queue_depth=celery_queue_depth(app, settings) if app is not None else None,
        visibility_timeout=settings.relay_visibility_timeout,
        poll_interval=settings.relay_poll_interval,
    )


def run_relay(
    settings: Settings,
    *,
    once: bool,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    routes: Routes | None = None,
) -> None:
    """``calisera relay``: publish until SIGTERM/SIGINT (or once), serving ``/metrics``
    on ``metrics_host:metrics_port`` when given."""
    configure_tracing("calisera-relay", settings.otel_exporter_otlp_endpoint)
    app = None if uses_table_queue(settings) else create_celery(settings)
    relay = build_relay(settings, app, routes)
    if once:
        with relay.connect() as conn:
            log.info("relay_once", published=relay.run_once(conn))
        return
    if metrics_port is not None:
        serve_metrics(metrics_port, metrics_host)

    def stop(signum: int, frame: object) -> None:
        relay.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    relay.run()
