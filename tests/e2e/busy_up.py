"""A ``calisera up`` that has done some work: many providers, bookings with every outcome
the API can produce today, availability reads and e-mails, then its three ``/metrics``
endpoints scraped. Shared by the metrics test and the dashboards test (one run each)."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.e2e.processes import start_up, stop, up_port, wait_healthy

ADMIN_TOKEN = "metrics-admin-token-0123456789abcdef"


@dataclass
class BusyUp:
    base: str
    metrics_urls: list[str]
    proc: subprocess.Popen[bytes]
    secrets: set[str] = field(default_factory=set)
    """Ids, slugs and e-mails the traffic used: none may appear in a label."""
    bookings: int = 0

    def scrape(self) -> dict[str, list[Sample]]:
        """Every sample of every endpoint, by metric family name."""
        families: dict[str, list[Sample]] = {}
        for url in self.metrics_urls:
            text = httpx.get(url, timeout=10).text
            for family in text_string_to_metric_families(text):
                families.setdefault(family.name, []).extend(family.samples)
        return families

    def series_names(self) -> set[str]:
        """Every exposed series name (``_total``, ``_bucket``... included)."""
        return {s.name for samples in self.scrape().values() for s in samples}


def seed_and_book(up: BusyUp, providers: int) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    day = datetime.combine(datetime.now(UTC).date() + timedelta(days=3), datetime.min.time(), UTC)
    with httpx.Client(base_url=up.base, headers=headers, timeout=60) as c:
        for i in range(providers):
            slug = f"metrics-{i}-{uuid.uuid4().hex[:6]}"
            owner = f"owner{i}.{uuid.uuid4().hex[:4]}@example.com"
            r = c.post(
                "/api/v1/providers",
                json={"slug": slug, "name": f"Studio {i}", "timezone": "UTC", "owner_email": owner},
            )
            r.raise_for_status()
            provider = r.json()["id"]
            weekly = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(7)]
            c.put(
                f"/api/v1/providers/{provider}/availability", json={"weekly": weekly}
            ).raise_for_status()
            r = c.post(
                f"/api/v1/providers/{provider}/services",
                json={
                    "name": "Consultation",
                    "kind": "simple",
                    "duration_minutes": 30,
                    "slot_interval_minutes": 30,
                    "min_notice_minutes": 0,
                    "booking_window_days": 60,
                },
            )
            r.raise_for_status()
            service = r.json()["id"]
            up.secrets |= {provider, service, slug, owner}
            params = {
                "service_id": service,
                "start": day.date().isoformat(),
                "end": (day + timedelta(days=6)).date().isoformat(),
            }
            for _ in range(2):  # a miss, then a hit
                c.get("/api/v1/availability", params=params).raise_for_status()
            c.get(f"/p/{slug}")
            email = f"customer{i}.{uuid.uuid4().hex[:4]}@example.com"
            up.secrets.add(email)
            body = {
                "service_id": service,
                "start": (day + timedelta(hours=9)).isoformat(),
                "customer": {"name": "Ada", "email": email},
            }
            r = c.post("/api/v1/bookings", json=body)
            r.raise_for_status()
            booking = r.json()["id"]
            up.secrets.add(booking)
            up.bookings += 1
            assert c.post("/api/v1/bookings", json=body).status_code == 409  # conflict
            if i % 3 == 0:
                c.post(
                    f"/api/v1/bookings/{booking}/reschedule",
                    json={"start": (day + timedelta(hours=11)).isoformat()},
                ).raise_for_status()
            if i % 3 == 1:
                c.post(f"/api/v1/bookings/{booking}/cancel", json={}).raise_for_status()
            c.get(f"/api/v1/bookings/{booking}")
            c.get(f"/api/v1/bookings/{uuid.uuid4()}")  # 404
        c.get("/no/such/path/" + uuid.uuid4().hex)  # unmatched


def wait_for(check: Callable[[], bool], timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


@contextlib.contextmanager
def busy_up(
    data_dir: Path, database_url: str, *, providers: int, env: dict[str, str] | None = None
) -> Iterator[BusyUp]:
    """``up`` on ``database_url`` after the traffic of ``providers`` providers, with its
    e-mails delivered (the worker's counters moved) before it is handed over."""
    port = up_port()
    proc = start_up(
        data_dir,
        port,
        env={"DATABASE_URL": database_url, "CALISERA_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    up = BusyUp(
        base=base,
        metrics_urls=[f"{base}/metrics"]
        + [f"http://127.0.0.1:{p}/metrics" for p in (port + 1, port + 2)],
        proc=proc,
    )
    try:
        wait_healthy(base, proc)

        def pipeline_serves() -> bool:
            try:
                return all(httpx.get(u, timeout=2).status_code == 200 for u in up.metrics_urls)
            except httpx.HTTPError:
                return False

        assert wait_for(pipeline_serves), "the relay and worker never served /metrics"
        seed_and_book(up, providers)

        def mail_sent() -> bool:
            sent = up.scrape().get("calisera_notifications_sent", [])
            return sum(s.value for s in sent if s.name.endswith("_total")) >= up.bookings

        assert wait_for(mail_sent), "the worker did not send the booking e-mails"
        yield up
    finally:
        stop(proc)
