"""``calisera up`` as a developer runs it: embedded PostgreSQL, one port, clean stops."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import psutil
import psycopg
import pytest

from tests.e2e.processes import (
    CALISERA,
    ROOT,
    free_port,
    postmaster_pid,
    start_up,
    stop,
    wait_healthy,
)

pytestmark = pytest.mark.timeout(240)


def _socket_url(pgdata) -> str:
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return f"postgresql://postgres@/postgres?host={lines[4]}"


def test_up_serves_every_prefix_then_stops_postgres_and_keeps_data(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    proc = start_up(data_dir, port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        body = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert set(body["services"]) >= {"providers", "bookings", "listing"}
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        with psycopg.connect(_socket_url(data_dir / "postgres"), autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS public.kept (v text)")
            conn.execute("INSERT INTO public.kept VALUES ('survives restart')")
    finally:
        assert stop(proc) in (0, 143), "SIGTERM must shut down cleanly"
    assert postmaster_pid(data_dir / "postgres") is None, "PostgreSQL left running after up exited"

    proc = start_up(data_dir, port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        with psycopg.connect(_socket_url(data_dir / "postgres")) as conn:
            assert conn.execute("SELECT v FROM public.kept").fetchone() == ("survives restart",)
    finally:
        stop(proc, signal.SIGINT)
    assert postmaster_pid(data_dir / "postgres") is None


def test_second_up_on_busy_port_fails_clearly(tmp_path):
    port = free_port()
    proc = start_up(tmp_path / "a", port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        second = subprocess.run(
            [*CALISERA, "up", "--port", str(port), "--data-dir", str(tmp_path / "b")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert f"Port {port}" in second.stderr and "already in use" in second.stderr
    finally:
        stop(proc)


def test_killed_up_leaves_a_server_the_next_up_adopts_and_stops(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    proc = start_up(data_dir, port)
    wait_healthy(f"http://127.0.0.1:{port}", proc)
    orphan = postmaster_pid(data_dir / "postgres")
    children = [
        c for c in psutil.Process(proc.pid).children() if "calisera.cli" in " ".join(c.cmdline())
    ]
    assert children, "up should run the relay and workers"
    stop(proc, signal.SIGKILL)
    assert orphan is not None and postmaster_pid(data_dir / "postgres") == orphan
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"relay/workers outlived a killed up: {[c.cmdline() for c in alive]}"

    proc = start_up(data_dir, port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
    finally:
        stop(proc)
    deadline = time.monotonic() + 10
    while postmaster_pid(data_dir / "postgres") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert postmaster_pid(data_dir / "postgres") is None, "stale server was not stopped"
