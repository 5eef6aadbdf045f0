"""The event pipeline's processes: outbox relay, queue workers, dead-letter tools.

Wiring only; the mechanisms live in ``calisera.core`` (:mod:`~calisera.core.relay`,
:mod:`~calisera.core.queue`, :mod:`~calisera.core.consumers`). The routing table is
built from each consuming service's ``consumers.consumer()`` (found with importlib, so
a service whose consumers module does not exist yet is simply not routed to).

A worker runs one Celery task, ``calisera.deliver(consumer, envelope)``:
1. continue the producer's trace (``traceparent`` header, else the envelope's);
2. ``deliver`` the event through the consumer's idempotent handler (one transaction);
3. run the consumer's ``after_commit`` hook (e.g. send the e-mails it queued);
4. confirm the delivery in ``relay.deliveries`` so the relay stops re-publishing it.
A failure is recorded there and retried with exponential backoff and jitter; after
``CALISERA_DELIVERY_MAX_ATTEMPTS`` failures the delivery is dead-lettered (``calisera dlq
list|replay``). Each worker process creates its own event loop and database engine
lazily, after the fork.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import psycopg
import sqlalchemy as sa
import structlog
from celery import Celery, Task
from celery.signals import worker_ready, worker_shutting_down
from kombu.exceptions import KombuError
from opentelemetry import propagate, trace
from prometheus_client import Counter
from psycopg.rows import dict_row

from calisera.core.consumers import Consumer, WorkerContext, deliver
from calisera.core.database import Database, libpq_url
from calisera.core.events import EventEnvelope
from calisera.core.outbox import OUTBOX_CHANNEL
from calisera.core.queue import CONSUMER_QUEUES, DELIVER_TASK, create_celery, queue_name
from calisera.core.relay import PublishFailed, Relay
from calisera.core.settings import Settings
from calisera.core.telemetry import configure_tracing, current_trace_id

log = structlog.get_logger("calisera.pipeline")
tracer = trace.get_tracer("calisera.pipeline")
T = TypeVar("T")

HANDLED = Counter(
    "calisera_consumer_events_total",
    "Events handled by a consumer, by outcome (handled, duplicate, failed, dead).",
    ["consumer", "outcome"],
)
RETRY_BASE_SECONDS = 0.5
RETRY_CAP_SECONDS = 300.0


def load_consumers(settings: Settings) -> dict[str, Consumer]:
    """Every consumer queue whose service has a ``consumers`` module, by queue name;
    each is built with the process's ``settings`` (consumers never read the environment)."""
    found: dict[str, Consumer] = {}
    for name in CONSUMER_QUEUES:
        module_name = f"calisera.{name}.consumers"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        consumer: Consumer = module.consumer(settings)
        found[consumer.name] = consumer
    return found


def consumer_queues() -> list[str]:
    """Names of the consumer queues whose service has a ``consumers`` module."""
    found = []
    for name in CONSUMER_QUEUES:
        try:
            importlib.import_module(f"calisera.{name}.consumers")
        except ModuleNotFoundError as exc:
            if exc.name != f"calisera.{name}.consumers":
                raise
            continue
        found.append(name)
    return found


def retry_delay(failures: int) -> float:
    """Exponential backoff with full jitter in [0.5, 1.5) of the step, capped."""
    step: float = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(failures - 1, 0))
    return step * (0.5 + random.random())


# --- publishing -------------------------------------------------------------------


def celery_publisher(app: Celery, settings: Settings) -> Callable[[str, dict[str, Any]], None]:
    def publish(consumer: str, envelope: dict[str, Any]) -> None:
        headers = {"traceparent": envelope["traceparent"]} if envelope.get("traceparent") else {}
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


def build_relay(settings: Settings, app: Celery) -> Relay:
    assert settings.database_url, "the relay needs DATABASE_URL"
    return Relay(
        database_url=settings.database_url,
        routes={name: c.wants for name, c in load_consumers(settings).items()},
        publish=celery_publisher(app, settings),
        visibility_timeout=settings.relay_visibility_timeout,
        poll_interval=settings.relay_poll_interval,
    )


def run_relay(settings: Settings, *, once: bool, metrics_port: int | None = None) -> None:
    """``calisera relay``: publish until SIGTERM/SIGINT (or once)."""
    app = create_celery(settings)
    relay = build_relay(settings, app)
    if once:
        with relay.connect() as conn:
            log.info("relay_once", published=relay.run_once(conn))
        return
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")

    def stop(signum: int, frame: object) -> None:
        relay.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    relay.run()


# --- workers ------------------------------------------------------------------------


@dataclass
class ProcessState:
    """Per worker process: its own event loop and database engine (made after fork)."""

    pid: int
    loop: asyncio.AbstractEventLoop
    db: Database
    context: WorkerContext
    consumers: dict[str, Consumer]

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)


_state: ProcessState | None = None
_settings: Settings | None = None


def process_state() -> ProcessState:
    global _state
    if _state is None or _state.pid != os.getpid():
        assert _settings is not None and _settings.database_url
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        db = Database(_settings.database_url, pool_size=2, max_overflow=2)
        _state = ProcessState(
            pid=os.getpid(),
            loop=loop,
            db=db,
            context=WorkerContext(settings=_settings, sessionmaker=db.sessionmaker),
            consumers=load_consumers(_settings),
        )
    return _state


async def _lease(state: ProcessState, consumer: str, event_id: UUID) -> bool:
    """Extend the delivery's visibility while handling; False when already confirmed."""
    async with state.db.engine.begin() as conn:
        row = (
            await conn.execute(
                sa.text(
                    "UPDATE relay.deliveries SET next_attempt_at = greatest(next_attempt_at, "
                    "now() + make_interval(secs => :v)) "
                    "WHERE event_id = :e AND consumer = :c RETURNING confirmed_at, dead_at"
                ),
                {
                    "v": state.context.settings.relay_visibility_timeout,
                    "e": event_id,
                    "c": consumer,
                },
            )
        ).first()
    return row is None or (row[0] is None and row[1] is None)


async def _confirm(state: ProcessState, consumer: str, event: EventEnvelope) -> None:
    """Mark the delivery handled. An upsert: the relay publishes before its transaction
    commits, so a fast worker may get here before the relay's row is visible; the insert
    then waits for that commit and confirms the row instead of leaving it to be
    re-published after the visibility timeout."""
    async with state.db.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO relay.deliveries (event_id, consumer, source, event_type, "
                "aggregate_id, envelope, next_attempt_at, confirmed_at) "
                "VALUES (:e, :c, :source, :type, :aggregate, CAST(:envelope AS jsonb), "
                "now(), now()) "
                "ON CONFLICT (event_id, consumer) DO UPDATE SET confirmed_at = now() "
                "WHERE relay.deliveries.confirmed_at IS NULL"
            ),
            {
                "e": event.id,
                "c": consumer,
                "source": event.source,
                "type": event.type,
                "aggregate": event.aggregate_id,
                "envelope": event.model_dump_json(),
            },
        )


async def _record_failure(
    state: ProcessState, consumer: str, event_id: UUID, error: str, delay: float
) -> tuple[int, bool]:
    """Count a failed attempt; dead-letter after the maximum. -> (failures, dead)."""
    settings = state.context.settings
    async with state.db.engine.begin() as conn:
        row = (
            await conn.execute(
                sa.text(
                    "UPDATE relay.deliveries SET failures = failures + 1, last_error = :err, "
                    "next_attempt_at = now() + make_interval(secs => :wait), "
                    "dead_at = CASE WHEN failures + 1 >= :max THEN now() END "
                    "WHERE event_id = :e AND consumer = :c RETURNING failures, dead_at"
                ),
                {
                    "err": error[:2000],
                    "wait": delay + settings.relay_visibility_timeout,
                    "max": settings.delivery_max_attempts,
                    "e": event_id,
                    "c": consumer,
                },
            )
        ).first()
    if row is None:  # published by hand, not through the relay
        return 1, False
    return int(row[0]), row[1] is not None


async def _handle(state: ProcessState, consumer: Consumer, event: EventEnvelope) -> str:
    if not await _lease(state, consumer.name, event.id):
        return "duplicate"
    handled = await deliver(consumer, state.context.sessionmaker, event)
    if consumer.after_commit is not None:
        await consumer.after_commit(state.context, event)
    await _confirm(state, consumer.name, event)
    return "handled" if handled else "duplicate"


def register_tasks(app: Celery) -> None:
    @app.task(bind=True, name=DELIVER_TASK, max_retries=None)
    def deliver_task(self: Task[Any, Any], consumer_name: str, envelope: dict[str, Any]) -> str:
        state = process_state()
        event = EventEnvelope.model_validate(envelope)
        consumer = state.consumers[consumer_name]
        traceparent = getattr(self.request, "traceparent", None) or event.traceparent
        parent = propagate.extract({"traceparent": traceparent} if traceparent else {})
        with tracer.start_as_current_span(
            f"consume {event.type}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.destination.name": consumer_name, "event.id": str(event.id)},
        ) as span:
            try:
                outcome = state.run(_handle(state, consumer, event))
            except Exception as exc:
                span.record_exception(exc)
                delay = retry_delay(self.request.retries + 1)
                failures, dead = state.run(
                    _record_failure(state, consumer_name, event.id, repr(exc), delay)
                )
                if dead:
                    HANDLED.labels(consumer_name, "dead").inc()
                    log.error(
                        "delivery_dead_lettered",
                        consumer=consumer_name,
                        event_id=str(event.id),
                        failures=failures,
                        error=repr(exc),
                    )
                    return "dead"
                HANDLED.labels(consumer_name, "failed").inc()
                log.warning(
                    "delivery_failed",
                    consumer=consumer_name,
                    event_id=str(event.id),
                    failures=failures,
                    retry_in=round(delay, 2),
                    error=repr(exc),
                )
                raise self.retry(exc=exc, countdown=delay) from exc
            log.info(
                "event_consumed",
                consumer=consumer_name,
                event_id=str(event.id),
                type=event.type,
                outcome=outcome,
                trace_id=current_trace_id(),
            )
        HANDLED.labels(consumer_name, outcome).inc()
        return outcome


def _periodic_loop(settings: Settings, consumer: Consumer, stop: threading.Event) -> None:
    """The consumer's sweep, in a thread of the worker's main process (own loop and engine)."""
    assert settings.database_url and consumer.periodic is not None
    loop = asyncio.new_event_loop()
    db = Database(settings.database_url, pool_size=1, max_overflow=1)
    context = WorkerContext(settings=settings, sessionmaker=db.sessionmaker)
    try:
        while not stop.is_set():
            try:
                loop.run_until_complete(consumer.periodic(context))
            except Exception:
                log.exception("periodic_failed", consumer=consumer.name)
            stop.wait(consumer.periodic_interval)
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()


def run_worker(settings: Settings, queue: str, *, concurrency: int, pool: str = "prefork") -> None:
    """``calisera worker <queue>``: a Celery worker for one consumer queue."""
    global _settings
    consumers = load_consumers(settings)
    if queue not in consumers:
        raise SystemExit(
            f"calisera worker: no consumer for queue {queue!r} "
            f"(available: {', '.join(sorted(consumers)) or 'none'})"
        )
    _settings = settings
    configure_tracing(f"calisera-worker-{queue}", settings.otel_exporter_otlp_endpoint)
    app = create_celery(settings)
    register_tasks(app)
    consumer = consumers[queue]
    stop = threading.Event()

    if consumer.periodic is not None:

        @worker_ready.connect(weak=False)
        def start_periodic(**kwargs: Any) -> None:
            threading.Thread(
                target=_periodic_loop, args=(settings, consumer, stop), daemon=True
            ).start()

        @worker_shutting_down.connect(weak=False)
        def stop_periodic(**kwargs: Any) -> None:
            stop.set()

    worker = app.Worker(
        queues=[queue_name(settings, queue)],
        concurrency=concurrency,
        pool=pool,
        loglevel=settings.log_level,
        hostname=f"{queue}@%h.{os.getpid()}",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    worker.start()
    raise SystemExit(worker.exitcode)


# --- dead letters -----------------------------------------------------------------


def _connect(settings: Settings) -> psycopg.Connection[dict[str, Any]]:
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set")
    return psycopg.connect(libpq_url(settings.database_url), row_factory=dict_row)


def dead_letters(settings: Settings, consumer: str | None = None) -> list[dict[str, Any]]:
    with _connect(settings) as conn:
        return conn.execute(
            "SELECT event_id, consumer, event_type, failures, dead_at, last_error "
            "FROM relay.deliveries WHERE dead_at IS NOT NULL "
            "AND (%(c)s::text IS NULL OR consumer = %(c)s) ORDER BY dead_at",
            {"c": consumer},
        ).fetchall()


def replay_dead_letters(
    settings: Settings, consumer: str | None = None, event_id: UUID | None = None
) -> int:
    """Put dead-lettered deliveries back in the relay's hands; it publishes them now."""
    with _connect(settings) as conn:
        count = conn.execute(
            "UPDATE relay.deliveries SET dead_at = NULL, failures = 0, next_attempt_at = now() "
            "WHERE dead_at IS NOT NULL AND (%(c)s::text IS NULL OR consumer = %(c)s) "
            "AND (%(e)s::uuid IS NULL OR event_id = %(e)s)",
            {"c": consumer, "e": event_id},
        ).rowcount
        conn.execute("SELECT pg_notify(%s, 'relay')", (OUTBOX_CHANNEL,))
    return count


# --- calisera up ----------------------------------------------------------------------


def process_environment(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process read exactly ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALISERA_")}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if name == "database_url":
            env["DATABASE_URL"] = str(value)
        elif name == "otel_exporter_otlp_endpoint":
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = str(value)
        else:
            env[f"CALISERA_{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    return env


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when ``up`` dies, even by SIGKILL
    (Linux ``PR_SET_PDEATHSIG``), so a killed ``up`` leaves no orphan relay or worker."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class _Supervised:
    """One background process of ``up``, restarted (with backoff) if it dies on its own.

    A relay or worker that crashes must not leave ``up`` serving with nobody moving
    events; at-least-once delivery makes a restart safe.
    """

    def __init__(self, args: tuple[str, ...], settings: Settings):
        self.args = args
        self.command = " ".join(args)
        self.env = process_environment(settings)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.proc = self._spawn()
        threading.Thread(target=self._watch, name=f"watch {self.command}", daemon=True).start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "calisera.cli", *self.args],
            env=self.env,
            preexec_fn=_die_with_parent,
        )
        log.info("background_started", command=self.command, pid=proc.pid)
        return proc

    def _watch(self) -> None:
        delay = 1.0
        while not self.stopping.is_set():
            code = self.proc.wait()
            if self.stopping.wait(delay):
                return
            log.error("background_exited_restarting", command=self.command, code=code)
            with self.lock:
                if self.stopping.is_set():
                    return
                self.proc = self._spawn()
            delay = min(delay * 2, 30.0)

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            proc = self.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.info("background_stopped", command=self.command, code=proc.returncode)


def _subprocess_starter(*args: str) -> Callable[[Settings], Callable[[], None]]:
    def start(settings: Settings) -> Callable[[], None]:
        return _Supervised(args, settings).stop

    return start


def local_background() -> list[Callable[[Settings], Callable[[], None]]]:
    """For ``calisera up``: the relay and one worker per consumer queue, as subprocesses."""
    starters = [_subprocess_starter("relay")]
    for name in consumer_queues():
        starters.append(_subprocess_starter("worker", name, "--concurrency", "1"))
    return starters
