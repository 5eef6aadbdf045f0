"""``up``'s supervision of its background processes: the relay and one worker for its queues.

Each runs as a child process (``python -m calisera.cli relay|worker ...``) with exactly
the settings of ``up`` (:func:`process_environment`), dies with ``up`` even when ``up``
is SIGKILLed (Linux ``PR_SET_PDEATHSIG``), and is restarted with backoff when it exits
on its own: a relay or worker that crashed must not leave ``up`` serving with nobody
moving events, and at-least-once delivery makes a restart safe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from calisera.core.backoff import Backoff
from calisera.core.settings import Settings
from calisera.processes.routing import load_consumers, route_arguments, routes_of

log = structlog.get_logger("calisera.up")

RESTART_BACKOFF = Backoff(base=1.0, cap=30.0)
"""Wait before restarting a child that exited: 1 s, doubling up to 30 s."""

Starter = Callable[[Settings], Callable[[], None]]
"""Starts something beside ``up``'s HTTP server with its settings; returns its stop."""


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


class Supervised:
    """One child process of ``up`` (a ``calisera`` command), restarted if it dies."""

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
        restarts = 0
        while not self.stopping.is_set():
            code = self.proc.wait()
            restarts += 1
            if self.stopping.wait(RESTART_BACKOFF.delay(restarts)):
                return
            log.error("background_exited_restarting", command=self.command, code=code)
            with self.lock:
                if self.stopping.is_set():
                    return
                self.proc = self._spawn()

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


def pipeline_processes(metrics_port: int | None = None) -> list[Starter]:
    """The relay and one worker for every consumer queue with work, as ``up`` runs them;
    with ``metrics_port`` the relay serves ``/metrics`` on 127.0.0.1 at that port and
    the worker at the next one (:func:`pipeline_metrics_ports`).

    One worker process (Celery's ``solo`` pool: no forked child) takes every queue:
    on one machine a process per queue (and a pool child each) cost ~250 MB of RSS
    apiece for the same work (measured in ``bench/booking_path.py``). Kubernetes keeps
    one Deployment per queue (``calisera worker <queue>``).
    """
    if metrics_port is None:
        return [relay_starter(), start_worker]
    relay_port, worker_port = pipeline_metrics_ports(metrics_port)
    return [
        relay_starter(("--metrics-port", str(relay_port))),
        worker_starter(("--metrics-port", str(worker_port))),
    ]


def relay_starter(extra: tuple[str, ...] = ()) -> Starter:
    """Starts ``up``'s relay with the consumers' routes on its command line: ``up`` has
    the services loaded anyway, the relay then imports none of them (~40 MB of RSS)."""

    def start(settings: Settings) -> Callable[[], None]:
        routes = route_arguments(routes_of(load_consumers(settings)))
        return Supervised(("relay", *routes, *extra), settings).stop

    return start


def pipeline_metrics_ports(base: int) -> tuple[int, int]:
    """The ``/metrics`` ports of ``up``'s relay and worker: ``base`` and ``base + 1``."""
    return base, base + 1


def worker_queues(settings: Settings) -> list[str]:
    """The consumer queues that take events with these settings (the listing queue
    takes none without a shared cache: ``up``'s own process invalidates its cache)."""
    return [name for name, c in load_consumers(settings).items() if c.event_types]


UP_WORKER_LOOPS = 4
"""Concurrent loops of ``up``'s worker on the table queue (one process: they overlap the
waits on PostgreSQL and the SMTP server; Celery's solo pool ignores it)."""


def worker_starter(extra: tuple[str, ...] = ()) -> Starter:
    """Starts ``up``'s one worker (solo pool) for every queue with work, with ``extra``
    arguments."""

    def start(settings: Settings) -> Callable[[], None]:
        queues = worker_queues(settings)
        if not queues:
            return lambda: None
        args = ("worker", *queues, "--concurrency", str(UP_WORKER_LOOPS), "--pool", "solo", *extra)
        return Supervised(args, settings).stop

    return start


start_worker = worker_starter()


@dataclass
class Background:
    """What ``up`` runs beside the HTTP server; stopped in the reverse order."""

    starters: list[Starter] = field(default_factory=list)
    metrics_base: int | None = None
    """First ``/metrics`` port of the relay and worker (:func:`pipeline_metrics_ports`)."""
    _stoppers: list[Callable[[], None]] = field(default_factory=list)

    def start(self, settings: Settings) -> None:
        for starter in self.starters:
            self._stoppers.append(starter(settings))

    def stop(self) -> None:
        while self._stoppers:
            stop = self._stoppers.pop()
            try:
                stop()
            except Exception:
                log.exception("background_stop_failed")
