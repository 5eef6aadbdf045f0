"""``calisera up`` runs the relay and a worker per consumer queue, and stops them all."""

from __future__ import annotations

import time

import httpx
import psutil
import pytest

from tests.e2e.processes import start_up, stop, up_port, wait_healthy
from tests.integration.pipeline.conftest import (
    booking_event,
    ensure_bookings_outbox,
    insert_outbox,
)

pytestmark = pytest.mark.timeout(180)


def test_up_delivers_a_booking_email_to_the_dev_mailbox_and_leaves_no_orphans(
    database_url, tmp_path
):
    ensure_bookings_outbox(database_url)
    port = up_port()
    proc = start_up(tmp_path / "data", port, env={"DATABASE_URL": database_url})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # relay + worker subprocesses are up
            names = [" ".join(p.cmdline()) for p in psutil.Process(proc.pid).children(True)]
            if any("relay" in n for n in names) and any("worker" in n for n in names):
                break
            time.sleep(0.2)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children

        event = booking_event(email="dev@example.test")
        insert_outbox(database_url, event)
        mail = None
        while time.monotonic() < deadline and mail is None:
            items = httpx.get(f"{base}/api/v1/notifications/dev/mailbox").json()["items"]
            mail = next((m for m in items if m["recipient"] == "dev@example.test"), None)
            time.sleep(0.2)
        assert mail is not None and mail["subject"].startswith("Booking confirmed")
        page = httpx.get(f"{base}/api/v1/notifications/dev/mailbox.html")
        assert "dev@example.test" in page.text
    finally:
        code = stop(proc)
    assert code in (0, 143)
    _gone, alive = psutil.wait_procs(children, timeout=20)
    assert alive == [], [p.cmdline() for p in alive]


def test_up_restarts_a_worker_that_dies(tmp_path):
    port = up_port()
    proc = start_up(tmp_path / "data", port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)

        def analytics_workers() -> list[psutil.Process]:
            # up runs one worker for every queue with work (analytics among them)
            return [
                p
                for p in psutil.Process(proc.pid).children()
                if "worker" in p.cmdline() and "analytics" in p.cmdline()
            ]

        deadline = time.monotonic() + 60
        while not analytics_workers() and time.monotonic() < deadline:
            time.sleep(0.2)
        (victim,) = analytics_workers()
        victim.kill()
        victim.wait(10)
        replacement = []
        while time.monotonic() < deadline and not replacement:
            replacement = [p for p in analytics_workers() if p.pid != victim.pid]
            time.sleep(0.2)
        assert replacement, "up did not restart the killed worker"
    finally:
        assert stop(proc) in (0, 143)
