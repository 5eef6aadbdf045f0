"""The worker process of one consumer queue (``calisera worker <queue>``): a Celery worker.

It runs one task, ``calisera.deliver(consumer, envelope)``:
1. continue the producer's trace (``traceparent`` header, else the envelope's);
2. ``deliver`` the event through the consumer's idempotent handler (one transaction);
3. run the consumer's ``after_commit`` hook (e.g. send the e-mails it queued);
4. confirm the delivery in ``relay.deliveries`` so the relay stops re-publishing it.

A failure is recorded there and retried with backoff (:data:`RETRY_BACKOFF`); after
``CALISERA_DELIVERY_MAX_ATTEMPTS`` failures the delivery is dead-lettered (``calisera dlq
list|replay``). A :class:`~calisera.core.events.PermanentEventError` (an event version
the consumer does not know, say) is dead-lettered at once: retrying cannot help. Each
worker process creates its own event loop and database engine lazily, after the fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from opentelemetry import propagate, trace
from prometheus_client import Counter, Histogram

from calisera.core.backoff import Backoff
from calisera.core.consumers import Consumer, WorkerContext, deliver
from calisera.core.database import Database
from calisera.core.events import EventEnvelope, PermanentEventError
from calisera.core.metrics import LATENCY_BUCKETS, mark_process_dead, serve_metrics
from calisera.core.queue import DELIVER_TASK, create_celery, queue_name, uses_table_queue
from calisera.core.settings import Settings
from calisera.core.telemetry import configure_tracing, current_trace_id
from calisera.processes import deliveries
from calisera.processes.routing import load_consumers

if TYPE_CHECKING:  # Celery is imported by the Celery worker only, not the table queue's
    from celery import Celery, Task

log = structlog.get_logger("calisera.worker")
tracer = trace.get_tracer("calisera.worker")
T = TypeVar("T")

HANDLED = Counter(
    "calisera_consumer_events_total",
    "Deliveries taken by a consumer, by outcome: handled, duplicate (no second effect), "
    "retried (failed, tried again later), dead_lettered (given up, see calisera dlq).",
    ["consumer", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "calisera_consumer_handle_seconds",
    "Time to handle one delivery (the consumer's transaction and after-commit work).",
    ["consumer"],
    buckets=LATENCY_BUCKETS,
)
OUTCOMES = ("handled", "duplicate", "retried", "dead_lettered")
RETRY_BACKOFF = Backoff(base=0.5, cap=300.0, jitter=0.5)
"""Delay before a failed delivery's next attempt: doubling from 0.5 s up to 5 minutes,
at least half of that (jitter spreads the retries of an outage)."""


@dataclass
class ProcessState:
    """Per worker process and thread: its own event loop and database engine (made after
    fork). Per thread because Celery's solo pool runs a retried task whose countdown has
    come in its timer thread, while the main thread may be inside a task on its own loop
    (one loop for both: "This event loop is already running", the retry lost)."""

    pid: int
    loop: asyncio.AbstractEventLoop
    db: Database
    context: WorkerContext
    consumers: dict[str, Consumer]

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)


_states = threading.local()
_every_state: list[ProcessState] = []
_every_state_lock = threading.Lock()
_settings: Settings | None = None
_consumers: Mapping[str, Consumer] | None = None
_generation = 0
"""Bumped by :func:`configure`: a thread's state of an earlier configuration is not reused."""


def configure(settings: Settings, consumers: Mapping[str, Consumer] | None = None) -> None:
    """What this process's tasks run with (``run_worker``; a test's in-thread worker)."""
    global _settings, _consumers, _generation
    _settings, _consumers = settings, consumers
    _generation += 1


def process_state() -> ProcessState:
    state: ProcessState | None = getattr(_states, "state", None)
    if state is None or state.pid != os.getpid() or _states.generation != _generation:
        assert _settings is not None and _settings.database_url
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        db = Database(_settings.database_url, pool_size=2, max_overflow=2, pre_ping=False)
        state = ProcessState(
            pid=os.getpid(),
            loop=loop,
            db=db,
            context=WorkerContext(settings=_settings, sessionmaker=db.sessionmaker),
            consumers=dict(_consumers) if _consumers is not None else load_consumers(_settings),
        )
        _states.state, _states.generation = state, _generation
        with _every_state_lock:
            _every_state.append(state)
    return state


def close_process_states() -> None:
    """Dispose of every engine and close every loop this process's tasks made (a test's
    in-thread worker, once it is idle: from a thread running no loop)."""
    with _every_state_lock:
        states = [s for s in _every_state if s.pid == os.getpid()]
        _every_state.clear()
    for state in states:
        if not state.loop.is_closed():
            state.run(state.db.dispose())
            state.loop.close()


async def consume(context: WorkerContext, consumer: Consumer, event: EventEnvelope) -> str:
    """The consumer's transaction, then its after-commit work: ``handled`` or ``duplicate``."""
    delivered = await deliver(consumer, context.sessionmaker, event)
    if consumer.after_commit is not None and delivered.wants_after_commit:
        await consumer.after_commit(context, event)
    return "handled" if delivered else "duplicate"


async def _handle(state: ProcessState, consumer: Consumer, event: EventEnvelope) -> str:
    visibility = state.context.settings.relay_visibility_timeout
    async with state.db.engine.begin() as conn:
        if not await deliveries.lease(conn, consumer.name, event.id, visibility):
            return "duplicate"
    outcome = await consume(state.context, consumer, event)
    async with state.db.engine.begin() as conn:
        await deliveries.confirm(conn, consumer.name, event)
    return outcome


async def record_failure(
    db: Database,
    settings: Settings,
    consumer: str,
    event: EventEnvelope,
    exc: Exception,
    wait: float,
) -> tuple[int, bool]:
    """Count the failed attempt (the next one is due after ``wait`` seconds) -> (failures, dead)."""
    async with db.engine.begin() as conn:
        return await deliveries.record_failure(
            conn,
            consumer,
            event,
            error=repr(exc),
            wait=wait,
            max_attempts=settings.delivery_max_attempts,
            permanent=isinstance(exc, PermanentEventError),
        )


def consume_span(
    consumer: str, event: EventEnvelope, traceparent: str | None
) -> contextlib.AbstractContextManager[trace.Span]:
    """The span of one delivery: a child of the current span (Celery's instrumentation
    continued the message header's trace), else of ``traceparent``."""
    parent = None
    if not trace.get_current_span().get_span_context().is_valid:
        parent = propagate.extract({"traceparent": traceparent} if traceparent else {})
    return tracer.start_as_current_span(
        f"consume {event.type}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={"messaging.destination.name": consumer, "event.id": str(event.id)},
    )


def log_consumed(consumer: str, event: EventEnvelope, outcome: str, started: float) -> None:
    HANDLE_SECONDS.labels(consumer).observe(time.perf_counter() - started)
    log.info(
        "event_consumed",
        consumer=consumer,
        event_id=str(event.id),
        type=event.type,
        outcome=outcome,
        trace_id=current_trace_id(),
    )
    HANDLED.labels(consumer, outcome).inc()


def log_failed(
    consumer: str,
    event: EventEnvelope,
    exc: Exception,
    *,
    failures: int,
    dead: bool,
    retry_in: float,
    started: float,
) -> None:
    HANDLE_SECONDS.labels(consumer).observe(time.perf_counter() - started)
    fields = {
        "consumer": consumer,
        "event_id": str(event.id),
        "failures": failures,
        "error": repr(exc),
    }
    if dead:
        HANDLED.labels(consumer, "dead_lettered").inc()
        log.error("delivery_dead_lettered", **fields)
    else:
        HANDLED.labels(consumer, "retried").inc()
        log.warning("delivery_failed", retry_in=round(retry_in, 2), **fields)


def register_tasks(app: Celery) -> None:
    @app.task(bind=True, name=DELIVER_TASK, max_retries=None)
    def deliver_task(self: Task[Any, Any], consumer_name: str, envelope: dict[str, Any]) -> str:
        state = process_state()
        event = EventEnvelope.model_validate(envelope)
        consumer = state.consumers[consumer_name]
        traceparent = getattr(self.request, "traceparent", None) or event.traceparent
        with consume_span(consumer_name, event, traceparent) as span:
            started = time.perf_counter()
            try:
                outcome = state.run(_handle(state, consumer, event))
            except Exception as exc:
                span.record_exception(exc)
                delay = RETRY_BACKOFF.delay(self.request.retries + 1)
                settings = state.context.settings
                # The relay re-publishes it only if Celery's own retry is lost.
                wait = delay + settings.relay_visibility_timeout
                failures, dead = state.run(
                    record_failure(state.db, settings, consumer_name, event, exc, wait)
                )
                log_failed(
                    consumer_name,
                    event,
                    exc,
                    failures=failures,
                    dead=dead,
                    retry_in=delay,
                    started=started,
                )
                if dead:
                    return "dead"
                raise self.retry(exc=exc, countdown=delay) from exc
            log_consumed(consumer_name, event, outcome, started)
        return outcome


def quiet_task_logs() -> None:
    """Celery logs two INFO lines per task (received, succeeded) carrying the whole
    envelope; ours (``event_consumed``) says the same with the trace id, so Celery's
    per-task lines go to WARNING. Failures and retries are still logged by both."""
    for name in ("celery.worker.strategy", "celery.app.trace"):
        logging.getLogger(name).setLevel(logging.WARNING)


def periodic_loop(settings: Settings, consumer: Consumer, stop: threading.Event) -> None:
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


def _wake_the_event_loop_on_signals(**kwargs: Any) -> None:
    """SIGTERM only sets Celery's shutdown flag, which the event loop reads between
    polls, and a poll sleeps until the next timer (seconds): ``up``'s stop and a pod's
    termination waited for it. Python writes a byte to the wakeup fd on every signal;
    the loop watches it, so the poll returns and the warm shutdown starts at once.
    (The embedded transport runs no event loop: its polls are short already.)"""
    from kombu.asynchronous import get_event_loop

    hub = get_event_loop()
    if hub is None:
        return
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)

    def drain() -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(read_end, 512):
                pass

    hub.add_reader(read_end, drain)


def run_worker(
    settings: Settings,
    queues: str | Sequence[str],
    *,
    concurrency: int,
    pool: str = "prefork",
    consumers: Mapping[str, Consumer] | None = None,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> None:
    """``calisera worker <queue>...``: a Celery worker for one or more consumer queues.

    One queue per worker is the Kubernetes shape (each scales on its own); ``up`` runs
    one worker for every queue, which saves a Python process per queue. ``consumers``
    are the services' (:func:`load_consumers`) unless given (a test's). With
    ``metrics_port`` it serves ``/metrics`` there (every pool child's too, in
    Prometheus multiprocess mode: see :mod:`calisera.core.metrics`).
    """
    names = [queues] if isinstance(queues, str) else list(queues)
    consumers = load_consumers(settings) if consumers is None else consumers
    unknown = [q for q in names if q not in consumers]
    if unknown or not names:
        raise SystemExit(
            f"calisera worker: no consumer for queue {', '.join(map(repr, unknown)) or '-'} "
            f"(available: {', '.join(sorted(consumers)) or 'none'})"
        )
    configure(settings, consumers)
    label = "+".join(names)
    configure_tracing(f"calisera-worker-{label}", settings.otel_exporter_otlp_endpoint)
    quiet_task_logs()
    for name in names:  # every series exists from the start: rate() needs no first event
        HANDLE_SECONDS.labels(name)
        for outcome in OUTCOMES:
            HANDLED.labels(name, outcome)
    if metrics_port is not None:
        serve_metrics(metrics_port, metrics_host)
    if uses_table_queue(settings):
        from calisera.processes.table_worker import run_table_worker

        run_table_worker(settings, {q: consumers[q] for q in names}, concurrency=concurrency)
        return
    from celery.signals import worker_process_shutdown, worker_ready, worker_shutting_down

    @worker_process_shutdown.connect(weak=False)
    def forget_child(pid: int | None = None, **kwargs: Any) -> None:
        mark_process_dead(pid or os.getpid())

    app = create_celery(settings)
    register_tasks(app)
    worker_ready.connect(_wake_the_event_loop_on_signals, weak=False)
    stop = threading.Event()
    periodic = [consumers[q] for q in names if consumers[q].periodic is not None]

    if periodic:

        @worker_ready.connect(weak=False)
        def start_periodic(**kwargs: Any) -> None:
            for consumer in periodic:
                threading.Thread(
                    target=periodic_loop, args=(settings, consumer, stop), daemon=True
                ).start()

        @worker_shutting_down.connect(weak=False)
        def stop_periodic(**kwargs: Any) -> None:
            stop.set()

    worker = app.Worker(
        queues=[queue_name(settings, q) for q in names],
        concurrency=concurrency,
        pool=pool,
        loglevel=settings.log_level,
        hostname=f"{label}@%h.{os.getpid()}",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    worker.start()
    raise SystemExit(worker.exitcode)
