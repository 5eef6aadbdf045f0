"""``calisera up`` on a terminal prints structlog's coloured console lines (its relay and
worker too); ``CALISERA_LOG_FORMAT=json`` gives JSON lines there as in production."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time

import pytest

from tests.e2e.processes import CALISERA, ROOT, free_port, free_port_block, stop

pytestmark = pytest.mark.timeout(120)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _up_on_a_terminal(tmp_path, database_url: str, **env: str) -> list[str]:
    """The lines ``up`` writes to a pseudo-terminal until its relay has started."""
    master, slave = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CALISERA_")}
    environ.update(DATABASE_URL=database_url, **env)
    port = free_port()
    proc = subprocess.Popen(
        [
            *CALISERA,
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            "--metrics-port",
            str(free_port_block(2)),  # the relay's and the next, the worker's
        ],
        cwd=ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and b"relay_started" not in out:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
    finally:
        stop(proc)
        os.close(master)
    text = out.decode(errors="replace").replace("\r\n", "\n")
    assert "relay_started" in text, text[-3000:]
    return [line for line in text.splitlines() if line.strip()]


def test_up_on_a_terminal_logs_coloured_console_lines(tmp_path, database_url):
    lines = _up_on_a_terminal(tmp_path, database_url)
    logged = [line for line in lines if "migrated" in line or "relay_started" in line]
    assert len(logged) >= 2, lines
    for line in logged:
        assert ANSI.search(line), line  # coloured
        assert not ANSI.sub("", line).lstrip().startswith("{"), line  # not JSON


def test_log_format_json_keeps_json_lines_on_a_terminal(tmp_path, database_url):
    lines = _up_on_a_terminal(tmp_path, database_url, CALISERA_LOG_FORMAT="json")
    events = [json.loads(line) for line in lines if line.startswith("{")]
    names = {e.get("event") for e in events}
    assert {"migrated", "relay_started"} <= names, lines
