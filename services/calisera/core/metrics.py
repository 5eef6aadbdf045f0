"""Prometheus metrics shared by every process: HTTP, the database pool, and how a
process that is not an HTTP server (relay, worker) serves its ``/metrics``.

One process-wide registry; in ``calisera up`` several services share it, told apart by
the ``service`` label. Labels are bounded sets named in the code (service, route
*template*, status, consumer, channel, kind, outcome): never ids, slugs or e-mails
(``tests/e2e/test_up_metrics.py`` scrapes a busy ``up`` to hold that line).

A Celery worker with the prefork pool runs its tasks in child processes; with
``PROMETHEUS_MULTIPROC_DIR`` set (the chart sets it for workers) prometheus_client
writes every process's samples there and :func:`serve_metrics` aggregates them.
"""

from __future__ import annotations

import os
import shutil
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from starlette.requests import Request
from starlette.responses import Response

LATENCY_BUCKETS = (
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Every latency histogram's buckets: fine from 1 ms to 500 ms, where budgets live
(availability p95 < 50 ms, a booking < 300 ms), coarse above."""

HTTP_REQUESTS = Counter(
    "calisera_http_requests_total",
    "HTTP requests answered, by service, method, route template and status.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "calisera_http_request_duration_seconds",
    "HTTP request latency, by service and route template.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


class PoolCollector(Collector):
    """``calisera_db_pool_connections{pool,state}``: in use, idle, and callers waiting
    for a connection, read from every live :class:`~calisera.core.database.Database`
    of the process at scrape time (nothing on the query path)."""

    def __init__(self) -> None:
        self._engines: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._names: dict[int, str] = {}

    def track(self, name: str, engine: Any) -> None:
        self._engines[id(engine)] = engine
        self._names[id(engine)] = name
        opened = DB_CONNECTIONS_OPENED.labels(name)
        event.listen(engine, "connect", lambda *_: opened.inc())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "calisera_db_pool_connections",
            "Database pool connections by pool (main, reader) and state "
            "(in_use, idle, waiting = callers queued for a connection).",
            labels=["pool", "state"],
        )
        totals: dict[tuple[str, str], float] = {}
        for key, engine in list(self._engines.items()):
            pool = engine.pool
            name = self._names.get(key, "main")
            in_use = float(pool.checkedout()) if hasattr(pool, "checkedout") else 0.0
            idle = float(pool.checkedin()) if hasattr(pool, "checkedin") else 0.0
            for state, value in (("in_use", in_use), ("idle", idle), ("waiting", _waiters(pool))):
                totals[(name, state)] = totals.get((name, state), 0.0) + value
        for name in ("main", "reader"):
            for state in ("in_use", "idle", "waiting"):
                family.add_metric([name, state], totals.get((name, state), 0.0))
        yield family


def _waiters(pool: Any) -> float:
    """Callers queued in SQLAlchemy's pool: its asyncio queue's getters (SQLAlchemy
    exposes no public count of waiters; 0 when the pool is not that queue)."""
    queue = getattr(pool, "_pool", None)
    inner = getattr(queue, "__dict__", {}).get("_queue")  # created lazily on first use
    getters = getattr(inner, "_getters", None)
    return float(sum(1 for g in getters if not g.done())) if getters else 0.0


DB_CONNECTIONS_OPENED = Counter(
    "calisera_db_connections_opened_total",
    "Database connections opened, by pool: a steady rise under load is a pool too small "
    "for its concurrency, opening and closing overflow connections.",
    ["pool"],
)
for _pool in ("main", "reader"):
    DB_CONNECTIONS_OPENED.labels(_pool)

DB_POOLS = PoolCollector()
REGISTRY.register(DB_POOLS)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def prepare_multiprocess_dir(environ: dict[str, str] | None = None) -> Path | None:
    """Empty ``PROMETHEUS_MULTIPROC_DIR`` at a worker's start (a restarted container
    keeps its emptyDir, and dead processes' files would count forever); None when unset."""
    value = (environ if environ is not None else os.environ).get(MULTIPROCESS_DIR_ENV)
    if not value:
        return None
    path = Path(value)
    if path.exists():
        for child in path.iterdir():
            if child.is_file() and child.suffix == ".db":
                child.unlink()
            elif child.is_dir():
                shutil.rmtree(child)
    path.mkdir(parents=True, exist_ok=True)
    return path


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` of this process (of all its prefork children, in multiprocess
    mode) on ``host:port`` from a daemon thread."""
    registry: CollectorRegistry = REGISTRY
    if os.environ.get(MULTIPROCESS_DIR_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(DB_POOLS)
    start_http_server(port, addr=host, registry=registry)


def mark_process_dead(pid: int) -> None:
    """Forget a dead prefork child's live gauges (multiprocess mode only)."""
    if os.environ.get(MULTIPROCESS_DIR_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
