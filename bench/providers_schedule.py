"""How much the schedule read model costs: a full ``ScheduleConfig`` (200) against a
revalidation (304), in-process through the ASGI app on a real PostgreSQL.

Listing and bookings revalidate on every request (``ProvidersClient`` keeps an ETag
cache), so the 304 path is the hot one. Target: a 304 costs clearly less than a 200 and
no more than a few ``/healthz`` round trips (the reference, measured in the same run).

Run: ``.venv/bin/python bench/providers_schedule.py`` (``DATABASE_URL`` or an embedded
server under ``.calisera/bench-postgres``). Writes ``bench/results/providers_schedule.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from calisera.assembly import build_app
from calisera.core.database import libpq_url
from calisera.core.migrations import upgrade_all
from calisera.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "providers_schedule.json"
ADMIN = "bench-admin-token-0123456789"
ROUNDS = 400


async def _timed(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], expect: int
) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        r = await client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert r.status_code == expect, r.text
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95)], 3),
        "per_second": round(1000 / statistics.mean(ordered), 1),
    }


async def measure(database_url: str) -> dict[str, Any]:
    settings = Settings.model_validate(
        {
            "database_url": database_url,
            "admin_token": ADMIN,
            "log_json": False,
            "log_level": "WARNING",
        }
    )
    app = build_app(settings, ["providers"])
    admin = {"Authorization": f"Bearer {ADMIN}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            p = (
                await c.post(
                    "/api/v1/providers",
                    json={
                        "slug": "bench-studio",
                        "name": "Bench",
                        "timezone": "Europe/Berlin",
                        "owner_email": "bench@example.com",
                    },
                    headers=admin,
                )
            ).json()
            base = f"/api/v1/providers/{p['id']}"
            await c.put(
                f"{base}/availability",
                json={
                    "weekly": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
                    "overrides": [
                        {"date": f"2026-12-{d:02d}", "intervals": []} for d in range(1, 31)
                    ],
                    "time_off": [{"start": "2026-12-24T00:00", "end": "2027-01-02T00:00"}],
                },
                headers=admin,
            )
            service = (
                await c.post(
                    f"{base}/services",
                    json={"name": "Cut", "kind": "simple", "duration_minutes": 30},
                    headers=admin,
                )
            ).json()
            for i in range(5):
                await c.post(
                    f"{base}/services",
                    json={
                        "name": f"Class {i}",
                        "kind": "class",
                        "duration_minutes": 60,
                        "capacity": 10,
                        "recurrence": {
                            "rrule": "FREQ=WEEKLY;BYDAY=MO",
                            "start_time": "18:00",
                            "starts_on": "2026-12-01",
                        },
                    },
                    headers=admin,
                )
            path = f"/internal/v1/providers/services/{service['id']}/schedule"
            etag = (await c.get(path, headers=admin)).headers["etag"]
            await _timed(c, "/healthz", {}, 200)  # warm-up
            healthz = _summary(await _timed(c, "/healthz", {}, 200))
            full = _summary(await _timed(c, path, admin, 200))
            revalidated = _summary(await _timed(c, path, admin | {"If-None-Match": etag}, 304))
    return {
        "rounds": ROUNDS,
        "reference_healthz": healthz,
        "schedule_200": full,
        "schedule_304": revalidated,
        "ratio_304_to_healthz": round(revalidated["median_ms"] / healthz["median_ms"], 2),
        "ratio_200_to_304": round(full["median_ms"] / revalidated["median_ms"], 2),
    }


def main() -> None:
    server = None
    url = os.environ.get("DATABASE_URL")
    if url is None:
        from calisera.core.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(ROOT / ".calisera" / "bench-postgres")
        url = server.start()
    server_url = libpq_url(url)
    name = f"calisera_bench_{os.getpid()}"
    db_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        upgrade_all(db_url, ["providers"])
        result = asyncio.run(measure(db_url))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if server is not None:
            server.stop()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
