"""The one Celery app of the platform and its configuration (kept here, only here).

Each consumer has its own queue (``<prefix><consumer>``); the relay publishes one
``calisera.deliver`` task per (event, consumer). The broker is RabbitMQ
(``CALISERA_BROKER_URL``) in production. Without one (``calisera up``) there is no Celery
at all: the relay's ``relay.deliveries`` rows, already the end-to-end record of every
delivery, are the queue (:func:`uses_table_queue`, :mod:`calisera.processes.table_worker`).
A broker URL may also name kombu's SQLAlchemy transport on PostgreSQL (``sqla+postgresql://``;
what :func:`broker_url` falls back to), which loses a message whose worker is killed with
SIGKILL: the relay re-publishes every event a consumer has not confirmed after a
visibility timeout, so no broker has to be trusted with the end-to-end guarantee (see
:mod:`calisera.processes.relay`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from calisera.core.database import sqlalchemy_url
from calisera.core.settings import Settings

if TYPE_CHECKING:  # imported when a Celery app is made: the table queue needs none
    from celery import Celery
    from kombu import Exchange

DELIVER_TASK = "calisera.deliver"
CONSUMER_QUEUES = ("notifications", "analytics", "listing", "integrations", "providers", "bookings")
EMBEDDED_POLLING_INTERVAL = 0.05
"""kombu's SQLAlchemy transport polls; its default (~1 s) would dominate latency. The
option cannot go through ``broker_transport_options`` (it is passed to
``create_engine`` and crashes), so it is set on the transport class."""
EMBEDDED_DRAIN_TIMEOUT = 0.1
"""Celery's loop for transports without file descriptors (``synloop``) only performs
pending operations (the late acks of finished tasks) between ``drain_events(timeout=2)``
calls: with prefetch 1 each worker process would idle up to 2 s after every task
(measured: 1 task/s). Capping the wait keeps acks, and so throughput, flowing."""


def uses_table_queue(settings: Settings) -> bool:
    """No broker configured: the relay's ``relay.deliveries`` rows are the queue
    (:mod:`calisera.processes.table_worker`), and no Celery message is made at all."""
    return not settings.broker_url


def broker_url(settings: Settings) -> str:
    """RabbitMQ when configured; else the embedded transport on the platform database."""
    if settings.broker_url:
        return settings.broker_url
    if not settings.database_url:
        raise RuntimeError("no broker: set CALISERA_BROKER_URL or DATABASE_URL")
    url = sqlalchemy_url(settings.database_url).render_as_string(hide_password=False)
    return "sqla+" + url


def queue_name(settings: Settings, consumer: str) -> str:
    return f"{settings.queue_prefix}{consumer}"


def create_celery(settings: Settings) -> Celery:
    """A configured Celery app; tasks are registered by :mod:`calisera.processes.worker`."""
    from celery import Celery
    from kombu import Exchange

    url = broker_url(settings)
    if url.startswith("sqla+"):
        _tune_embedded_transport()
    if url.startswith("sqla+"):
        _create_embedded_broker_tables(url.removeprefix("sqla+"))
    app = Celery("calisera", broker=url, set_as_current=False)
    exchange = Exchange(f"{settings.queue_prefix}calisera", type="direct", durable=True)
    app.conf.update(_config(settings, exchange))
    return app


_broker_tables_ready: set[str] = set()


def _create_embedded_broker_tables(url: str) -> None:
    """Create kombu's queue and message tables once, under an advisory lock.

    kombu creates them lazily in every process that connects; the relay and three
    workers starting together on a fresh database raced on ``CREATE SEQUENCE`` and one
    worker died at start-up (measured in ``calisera up``). Doing it here first, one
    process at a time, leaves kombu's own ``create_all`` nothing to do.
    """
    if url in _broker_tables_ready:
        return
    import sqlalchemy as sa
    from kombu import Connection

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _BROKER_TABLES_LOCK})
            conn.commit()
            try:
                with Connection("sqla+" + url) as broker:
                    broker.default_channel.session  # type: ignore[attr-defined]  # noqa: B018
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _BROKER_TABLES_LOCK})
                conn.commit()
    finally:
        engine.dispose()
    _broker_tables_ready.add(url)


_BROKER_TABLES_LOCK = 0x6B6F_6D62  # "komb"


def _tune_embedded_transport() -> None:
    from kombu.transport import sqlalchemy as kombu_sqla

    transport = kombu_sqla.Transport
    transport.polling_interval = EMBEDDED_POLLING_INTERVAL
    if getattr(transport.drain_events, "calisera_capped", False):
        return
    drain = transport.drain_events

    def drain_events(self: Any, connection: Any, timeout: float | None = None) -> Any:
        if timeout is not None:
            timeout = min(timeout, EMBEDDED_DRAIN_TIMEOUT)
        return drain(self, connection, timeout=timeout)

    drain_events.calisera_capped = True  # type: ignore[attr-defined]
    transport.drain_events = drain_events  # type: ignore[method-assign]


def _config(settings: Settings, exchange: Exchange) -> dict[str, Any]:
    from kombu import Queue

    queues = [
        Queue(
            queue_name(settings, c),
            exchange,
            routing_key=queue_name(settings, c),
            durable=True,
        )
        for c in CONSUMER_QUEUES
    ]
    return {
        "task_queues": queues,
        "task_default_queue": queue_name(settings, "notifications"),
        "task_default_exchange": exchange.name,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        # At-least-once: a message is acknowledged only after its task has finished,
        # and put back when the worker process running it dies.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 4,
        "task_default_delivery_mode": "persistent",
        "broker_connection_retry_on_startup": True,
        "broker_pool_limit": 4,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "worker_enable_remote_control": not broker_url(settings).startswith("sqla+"),
        "broker_transport_options": {"confirm_publish": True}
        if broker_url(settings).startswith("amqp")
        else {},
    }
