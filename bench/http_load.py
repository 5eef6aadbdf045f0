"""A bounded, loopback-only HTTP load generator, run as its own process.

``python -m bench.http_load book <spec.json>``: POST each job of the spec to
``/api/v1/bookings`` with ``concurrency`` clients, stopping after the last job or
``max_seconds``, whichever comes first. ``python -m bench.http_load get <spec.json>``:
GET one path with ``concurrency`` clients for ``seconds``. Either prints one JSON line of
results (throughput, p50/p99, statuses). Requests go round-robin over ``urls``, so one
load can spread over several server processes. Only 127.0.0.1 is accepted: a benchmark
must never load a machine it does not own.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from itertools import cycle
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx


def _check_loopback(urls: list[str]) -> None:
    for url in urls:
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"http_load: refusing a non-loopback target {url}")


def summary(latencies: list[float], statuses: dict[int, int], elapsed: float) -> dict[str, Any]:
    latencies = sorted(latencies)

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "elapsed_s": round(elapsed, 3),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "requests_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }


async def _run(spec: dict[str, Any], mode: str) -> dict[str, Any]:
    urls: list[str] = spec["urls"]
    _check_loopback(urls)
    concurrency = int(spec["concurrency"])
    jobs: list[dict[str, Any]] = spec.get("jobs", [])
    seconds = float(spec.get("max_seconds", spec.get("seconds", 10)))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    created: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = [httpx.AsyncClient(base_url=u, limits=limits, timeout=60) for u in urls]
    pick = cycle(clients)
    next_job = iter(jobs)
    deadline = 0.0

    async def one_client(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            if mode == "book":
                job = next(next_job, None)
                if job is None:
                    return
                started = time.perf_counter()
                r = await http.post("/api/v1/bookings", json=job)
                if r.status_code == 201:
                    created.append(r.json()["id"])
            else:
                started = time.perf_counter()
                r = await http.get(spec["path"])
            latencies.append(time.perf_counter() - started)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    try:
        # One request per connection before the clock starts: the first request of a
        # client imports and connects, which on a busy machine can take seconds.
        await asyncio.gather(*(c.get("/healthz") for c in clients for _ in range(concurrency)))
        began_wall, began = time.time(), time.perf_counter()
        deadline = began + seconds
        await asyncio.gather(*(one_client(next(pick)) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    finally:
        for c in clients:
            await c.aclose()
    result = summary(latencies, statuses, elapsed) | {
        "concurrency": concurrency,
        "began_at": began_wall,
        "ended_at": began_wall + elapsed,
    }
    if mode == "book":
        result["created"] = len(created)
        result["created_per_s"] = round(len(created) / elapsed, 1) if elapsed else 0.0
    return result


def main(argv: list[str]) -> int:
    mode, spec_path = argv
    if mode not in ("book", "get"):
        raise SystemExit("usage: python -m bench.http_load book|get <spec.json>")
    spec = json.loads(Path(spec_path).read_text())
    print(json.dumps(asyncio.run(_run(spec, mode))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
