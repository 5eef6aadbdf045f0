"""``calisera up`` as a developer runs it: embedded PostgreSQL, one port, clean stops."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import psutil
import psycopg
import pytest

from tests.e2e.processes import (
    CALISERA,
    ROOT,
    postmaster_pid,
    start_up,
    stop,
    up_port,
    wait_healthy,
)

pytestmark = pytest.mark.timeout(240)


def _socket_url(pgdata) -> str:
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return f"postgresql://postgres@/postgres?host={lines[4]}"


def test_up_serves_every_prefix_then_stops_postgres_and_keeps_data(tmp_path):
    data_dir = tmp_path / "data"
    port = up_port()
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
    port = up_port()
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
    port = up_port()
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


def test_up_starts_its_postgresql_again_when_it_dies(tmp_path):
    """The embedded server SIGKILLed under a running ``up``: ``up`` starts it again, the
    booking made before is still there, a new one is taken and its confirmation reaches
    the development mailbox (relay and worker reconnected), and ``up`` still stops it."""
    data_dir = tmp_path / "data"
    pgdata = data_dir / "postgres"
    port = up_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_up(data_dir, port)
    try:
        wait_healthy(base, proc)
        admin = {"Authorization": f"Bearer {(data_dir / 'admin-token').read_text().strip()}"}
        provider = httpx.post(
            f"{base}/api/v1/providers",
            json={
                "slug": "phoenix",
                "name": "Phoenix",
                "timezone": "UTC",
                "owner_email": "o@example.com",
            },
            headers=admin,
        )
        assert provider.status_code == 201, provider.text
        provider_id = provider.json()["id"]
        service = httpx.post(
            f"{base}/api/v1/providers/{provider_id}/services",
            json={"name": "Haircut", "kind": "simple", "duration_minutes": 30},
            headers=admin,
        )
        assert service.status_code == 201, service.text
        hours = httpx.put(
            f"{base}/api/v1/providers/{provider_id}/availability",
            json={"weekly": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(7)]},
            headers=admin,
        )
        assert hours.status_code == 200, hours.text
        day = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)

        def book(hour: int, email: str) -> httpx.Response:
            return httpx.post(
                f"{base}/api/v1/bookings",
                json={
                    "service_id": service.json()["id"],
                    "start": day.replace(hour=hour).isoformat(),
                    "customer": {"name": "Ana", "email": email},
                },
                timeout=30,
            )

        before = book(9, "before@example.com")
        assert before.status_code == 201, before.text

        victim = postmaster_pid(pgdata)
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while postmaster_pid(pgdata) in (None, victim) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert postmaster_pid(pgdata) not in (None, victim), "up did not start PostgreSQL again"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        after = book(11, "after@example.com")
        assert after.status_code == 201, after.text
        kept = httpx.get(f"{base}/api/v1/bookings/{before.json()['id']}", headers=admin)
        assert kept.status_code == 200 and kept.json()["status"] == "confirmed", kept.text

        mail = None
        while mail is None and time.monotonic() < deadline:
            items = httpx.get(f"{base}/api/v1/notifications/dev/mailbox").json()["items"]
            mail = next((m for m in items if m["recipient"] == "after@example.com"), None)
            time.sleep(0.3)
        assert mail is not None, "the confirmation after the restart never arrived"
        assert proc.poll() is None, "up itself must have kept running"
    finally:
        assert stop(proc) in (0, 143)
    assert postmaster_pid(pgdata) is None, "the restarted server outlived up"
