"""Soak: mixed traffic on a real ``calisera up`` for a bounded time (10 minutes in
``make bench``; ``CALISERA_SOAK_SECONDS`` shortens it, tests/e2e/test_soak.py runs one
minute), sampling every few seconds the RSS of every process, open connections (TCP of
``up``'s processes, PostgreSQL backends), request latency and the pipeline's lag.

Traffic (client threads, each pausing between requests, loopback only): browsing
(availability and provider pages), booking, cancelling, rescheduling and provider edits.
It fails on an upward **trend**: a Theil-Sen slope (the median of pairwise slopes, robust
to outliers and to the noise of a shared machine) over the samples after a warm-up,
extrapolated over the run, must stay under a budget for memory, latency, connections and
the pipeline backlog. Results: ``bench/results/soak.json``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WARM_UP = 0.3
"""The first 30 % of samples are the warm-up (caches, pools, imports): not in the fit."""


def theil_sen(xs: list[float], ys: list[float]) -> float:
    """The median of the slopes between every pair of points."""
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    ]
    return statistics.median(slopes) if slopes else 0.0


@dataclass
class Budget:
    """Growth allowed over the measured part of the run: ``max(relative * median, floor)``."""

    relative: float
    floor: float


BUDGETS = {
    "calisera_rss_mb": Budget(0.10, 30.0),
    "p95_s": Budget(0.75, 0.15),
    "connections": Budget(0.25, 6.0),
    "backlog": Budget(0.5, 30.0),
}


def trends(samples: list[dict[str, Any]], warmup: float = 0.0) -> dict[str, dict[str, Any]]:
    """The fit over the samples after ``warmup`` seconds (or after the first 30 %)."""
    if warmup:
        measured = [s for s in samples if s["t"] >= warmup]
    else:
        measured = samples[int(len(samples) * WARM_UP) :]
    out: dict[str, dict[str, Any]] = {}
    for key, budget in BUDGETS.items():
        points = [(s["t"], s[key]) for s in measured if s.get(key) is not None]
        if len(points) < 4:
            out[key] = {"samples": len(points), "ok": True, "note": "too few samples to fit"}
            continue
        xs, ys = [p[0] for p in points], [float(p[1]) for p in points]
        slope = theil_sen(xs, ys)
        growth = slope * (xs[-1] - xs[0])
        allowed = max(budget.relative * statistics.median(ys), budget.floor)
        out[key] = {
            "samples": len(points),
            "slope_per_min": round(slope * 60, 4),
            "growth_over_run": round(growth, 3),
            "allowed": round(allowed, 3),
            "median": round(statistics.median(ys), 3),
            "ok": growth <= allowed,
        }
    return out


@dataclass
class Traffic:
    base: str
    providers: list[dict[str, str]]
    admin_token: str
    seed: int = 7
    clients: int = 3
    pause: float = 0.5
    lock: threading.Lock = field(default_factory=threading.Lock)
    window: list[float] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    booked: list[dict[str, Any]] = field(default_factory=list)

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(target=self._client, args=(random.Random(self.seed + i), deadline))
            for i in range(self.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def take_window(self) -> list[float]:
        with self.lock:
            out, self.window = self.window, []
        return out

    def _client(self, rng: random.Random, deadline: float) -> None:
        with httpx.Client(base_url=self.base, timeout=15) as http:
            while time.monotonic() < deadline:
                self._one(http, rng)
                time.sleep(self.pause)

    def _one(self, http: httpx.Client, rng: random.Random) -> None:
        p = rng.choice(self.providers)
        day = datetime.now(UTC).date() + timedelta(days=rng.randint(2, 40))
        roll = rng.random()
        with self.lock:
            own = rng.choice(self.booked) if self.booked else None
        if roll < 0.6:
            kind, call = (
                "browse",
                lambda: http.get(
                    "/api/v1/availability",
                    params={"service_id": p["service_id"], "start": str(day), "end": str(day)},
                ),
            )
        elif roll < 0.75:
            kind, call = "page", lambda: http.get(f"/api/v1/providers/by-slug/{p['slug']}")
        elif roll < 0.9 or own is None:
            start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
                minutes=15 * rng.randint(0, 94)
            )
            body = {
                "service_id": p["service_id"],
                "start": start.isoformat(),
                "customer": {"name": "Soak", "email": f"soak-{uuid.uuid4().hex[:10]}@example.com"},
            }
            kind, call = "book", lambda: http.post("/api/v1/bookings", json=body)
        elif roll < 0.94:
            headers = {"X-Manage-Token": own["manage_token"]}
            kind, call = (
                "cancel",
                lambda: http.post(f"/api/v1/bookings/{own['id']}/cancel", json={}, headers=headers),
            )
        elif roll < 0.98:
            start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
                minutes=15 * rng.randint(0, 94)
            )
            headers = {"X-Manage-Token": own["manage_token"]}
            kind, call = (
                "reschedule",
                lambda: http.post(
                    f"/api/v1/bookings/{own['id']}/reschedule",
                    json={"start": start.isoformat()},
                    headers=headers,
                ),
            )
        else:
            headers = {"Authorization": f"Bearer {self.admin_token}"}
            kind, call = (
                "provider-edit",
                lambda: http.patch(
                    f"/api/v1/providers/{p['provider_id']}",
                    json={"bio": f"Edited {rng.randint(0, 10**6)}"},
                    headers=headers,
                ),
            )
        began = time.monotonic()
        try:
            r = call()
            status = str(r.status_code)
        except httpx.HTTPError:
            r, status = None, "error"
        took = time.monotonic() - began
        with self.lock:
            self.window.append(took)
            self.counts[f"{kind} {status}"] = self.counts.get(f"{kind} {status}", 0) + 1
            if kind == "book" and r is not None and r.status_code == 201:
                self.booked.append(r.json())
                self.booked = self.booked[-200:]


def _connections(procs: list[psutil.Process]) -> int:
    n = 0
    for p in procs:
        try:
            n += sum(1 for c in p.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED)
        except psutil.Error:
            continue
    return n


def sample(t: float, tree: Any, pg: Any, traffic: Traffic) -> dict[str, Any]:
    from bench.process_stats import calisera_total

    memory = tree.memory()
    procs = [p for role, ps in tree.processes().items() if role != "postgres" for p in ps]
    lat = sorted(traffic.take_window())
    [(backlog, oldest, backends)] = pg.query(
        "SELECT count(*) FILTER (WHERE confirmed_at IS NULL AND dead_at IS NULL),"
        " coalesce(extract(epoch FROM max(now() - created_at)"
        "   FILTER (WHERE confirmed_at IS NULL AND dead_at IS NULL)), 0)::float8,"
        " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        " FROM relay.deliveries"
    )
    return {
        "t": round(t, 2),
        "rss_mb": {r: v["rss_mb"] for r, v in memory.items()},
        "calisera_rss_mb": calisera_total(memory),
        "connections": _connections(procs),
        "pg_backends": backends,
        "requests": len(lat),
        "p50_s": round(lat[len(lat) // 2], 4) if lat else None,
        "p95_s": round(lat[int(len(lat) * 0.95)], 4) if lat else None,
        "backlog": backlog,
        "oldest_unconfirmed_s": round(oldest, 2),
    }


def run(
    seconds: float, interval: float, out: Path | None = None, warmup: float = 0.0
) -> dict[str, Any]:
    """Start ``up``, soak it for ``warmup`` + ``seconds``, sample every ``interval``; the
    report. The relay and the worker grow for about a minute under traffic (caches,
    allocator arenas) and then hold: a short soak needs that ``warmup`` outside the fit."""
    import tempfile

    from aiosmtpd.controller import Controller
    from tests.faults.platform import ADMIN_TOKEN, Postgres, Sink, Up, free_port

    from bench.process_stats import Tree

    work = Path(tempfile.mkdtemp(prefix="calisera-soak-"))
    pg = Postgres(ROOT / ".calisera" / f"soak-postgres-{uuid.uuid4().hex[:8]}")
    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    up = Up(
        work,
        {
            "DATABASE_URL": pg.url,
            "CALISERA_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CALISERA_RELAY_VISIBILITY_TIMEOUT": "30",  # nothing is killed here
        },
    )
    samples: list[dict[str, Any]] = []
    try:
        up.start()
        assert up.proc is not None
        providers = [up.seed_provider(f"soak{i}") for i in range(3)]
        with httpx.Client(base_url=up.base, timeout=15) as http:
            for p in providers:
                r = http.get(
                    f"/api/v1/providers/{p['provider_id']}",
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                )
                p["slug"] = r.json()["slug"]
        tree = Tree([up.proc.pid], pg.pgdata)
        traffic = Traffic(up.base, providers, ADMIN_TOKEN)
        loader = threading.Thread(target=traffic.run, args=(warmup + seconds,))
        began = time.monotonic()
        loader.start()
        while loader.is_alive():
            time.sleep(interval)
            samples.append(sample(time.monotonic() - began, tree, pg, traffic))
        loader.join()
    finally:
        up.stop()
        controller.stop()
        pg.close()
        import shutil

        shutil.rmtree(pg.pgdata.parent, ignore_errors=True)
    fitted = trends(samples, warmup)
    report = {
        "seconds": seconds,
        "warmup_s": warmup,
        "interval_s": interval,
        "requests": traffic.counts,
        "emails_accepted": len(sink.snapshot()),
        "samples": samples,
        "trends": fitted,
        "ok": all(v["ok"] for v in fitted.values()),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
    }
    if out is not None:
        out.write_text(json.dumps(report, indent=1))
    return report


def main() -> None:
    seconds = float(os.environ.get("CALISERA_SOAK_SECONDS", "600"))
    interval = float(os.environ.get("CALISERA_SOAK_INTERVAL", "5"))
    warmup = float(os.environ.get("CALISERA_SOAK_WARMUP", "0"))  # 0: the first 30 %
    RESULTS.mkdir(exist_ok=True)
    report = run(seconds, interval, RESULTS / "soak.json", warmup)
    print(json.dumps({"trends": report["trends"], "requests": report["requests"]}, indent=1))
    if not report["ok"]:
        sys.exit("soak: an upward trend (see bench/results/soak.json)")


if __name__ == "__main__":
    main()
