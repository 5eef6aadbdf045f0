"""One real ``calisera up`` (with its own PostgreSQL, Redis and SMTP sink) shared by the
fault scenarios of this module, each on its own provider."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.faults.platform import ROOT, Postgres, Rabbit, Redis, Sink, Up, free_port


@dataclass
class Platform:
    work: Path
    pg: Postgres
    redis: Redis
    sink: Sink
    up: Up
    rabbit: Rabbit | None = None
    """The private RabbitMQ ``up`` uses, or None: the table queue on ``pg`` (no broker)."""


def _peer_missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} not installed")


@contextlib.contextmanager
def running_platform(work: Path, *, rabbitmq: bool) -> Iterator[Platform]:
    """PostgreSQL, Redis, an SMTP sink (and a RabbitMQ node) of its own, and ``up``."""
    for binary, package in [("redis-server", "redis-server")] + (
        [("rabbitmq-server", "rabbitmq-server")] if rabbitmq else []
    ):
        if shutil.which(binary) is None:
            _peer_missing(f"{binary} (Debian package {package})")
    # the servers' own users must reach their data dirs: not under pytest's tmp
    scratch = ROOT / ".calisera" / f"faults-{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        pg = Postgres(scratch / "postgres")
        stack.callback(pg.close)
        redis = Redis(work)
        stack.callback(redis.kill)
        rabbit = Rabbit(scratch / "rabbitmq") if rabbitmq else None
        if rabbit is not None:
            stack.callback(rabbit.kill)
        sink = Sink()
        smtp_port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        stack.callback(controller.stop)
        env = {
            "DATABASE_URL": pg.url,
            "CALISERA_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CALISERA_CACHE_URL": redis.url,
        }
        if rabbit is not None:
            env["CALISERA_BROKER_URL"] = rabbit.url
        up = Up(work, env)
        stack.callback(up.stop)
        up.start()
        yield Platform(work, pg, redis, sink, up, rabbit)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """On the table queue, no broker (the default of ``calisera up``)."""
    with running_platform(tmp_path_factory.mktemp("faults"), rabbitmq=False) as p:
        yield p


@pytest.fixture(scope="module")
def rabbit_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """On a RabbitMQ node of its own (the Kubernetes shape)."""
    with running_platform(tmp_path_factory.mktemp("faults-rabbitmq"), rabbitmq=True) as p:
        yield p


def wait_until(predicate, timeout: float = 60.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")
