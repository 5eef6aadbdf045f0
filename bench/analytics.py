"""Analytics consumer throughput, rebuild time and dashboard latency on real PostgreSQL.

Run: ``python -m bench.analytics`` (``--bookings``, ``--seed``).

1. Starts an embedded PostgreSQL under ``.calisera/bench-postgres`` and migrates a fresh
   database.
2. Generates a seeded event stream (the test generator: creations, reschedules,
   cancellations, completions, no-shows, with duplicates and reordering) for several
   providers and delivers it event by event through ``calisera.core.consumers.deliver``
   (one transaction each, as a worker does): events/s.
3. ``rebuild`` of every aggregate from the stored observations: seconds.
4. The summary query of one provider for a month, repeated: p50/p99 milliseconds.

Target: the consumer keeps up with bookings (>= 200 events/s on one connection) and a
dashboard answers within 100 ms. Results go to ``bench/results/analytics.json`` and
``.md``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_EVENTS_PER_SECOND = 200
TARGET_SUMMARY_MS = 100


async def measure(db_url: str, bookings: int, seed: int) -> dict[str, Any]:
    from tests.integration.analytics_stream import generate

    from calisera.analytics import reports
    from calisera.analytics.consumers import consumer
    from calisera.analytics.rebuild import rebuild_aggregates
    from calisera.core.consumers import deliver
    from calisera.core.database import Database
    from calisera.core.settings import Settings

    settings = Settings.model_validate({"database_url": db_url, "analytics_key": "bench-key"})
    analytics = consumer(settings)
    worlds = [generate(seed + i, bookings=bookings // 4) for i in range(4)]
    rng = random.Random(seed)
    events = [e for w in worlds for e in w.events]
    stream = events + rng.sample(events, len(events) // 10)
    rng.shuffle(stream)
    db = Database(db_url, pool_size=2, max_overflow=0)
    try:
        began = time.perf_counter()
        for event in stream:
            await deliver(analytics, db.sessionmaker, event)
        deliver_seconds = time.perf_counter() - began

        began = time.perf_counter()
        async with db.sessionmaker() as session, session.begin():
            rebuilt = await rebuild_aggregates(session)
        rebuild_seconds = time.perf_counter() - began

        period = reports.Period(date(2027, 3, 1), date(2027, 3, 31))
        latencies = []
        for _ in range(50):
            began = time.perf_counter()
            async with db.sessionmaker() as session, session.begin():
                await reports.summary(session, worlds[0].provider_id, period)
            latencies.append((time.perf_counter() - began) * 1000)
    finally:
        await db.dispose()
    latencies.sort()
    return {
        "events_delivered": len(stream),
        "bookings": rebuilt.bookings,
        "deliver_seconds": round(deliver_seconds, 3),
        "events_per_second": round(len(stream) / deliver_seconds, 1),
        "rebuild_seconds": round(rebuild_seconds, 3),
        "summary_ms_p50": round(statistics.median(latencies), 2),
        "summary_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "targets": {
            "events_per_second": TARGET_EVENTS_PER_SECOND,
            "summary_ms": TARGET_SUMMARY_MS,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from calisera.core.database import libpq_url
    from calisera.core.embedded import EmbeddedPostgres
    from calisera.core.migrations import upgrade_all

    pg = EmbeddedPostgres(ROOT / ".calisera" / "bench-postgres")
    server_url = libpq_url(pg.start())
    db_name = f"calisera_bench_analytics_{os.getpid()}"
    try:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db_name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
        db_url = make_url(server_url).set(database=db_name).render_as_string(hide_password=False)
        upgrade_all(db_url)
        return asyncio.run(measure(db_url, args.bookings, args.seed))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name))
            )
        pg.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics")
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv if argv is not None else [])
    sys.path.insert(0, str(ROOT))
    result = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "analytics.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Analytics consumer and dashboard",
        "",
        f"- {result['events_delivered']} events ({result['bookings']} bookings, 10% duplicates,"
        f" shuffled) delivered one transaction each: **{result['events_per_second']} events/s**"
        f" (target >= {TARGET_EVENTS_PER_SECOND})",
        f"- rebuild of every aggregate: **{result['rebuild_seconds']} s**",
        f"- one provider's month summary: p50 **{result['summary_ms_p50']} ms**, "
        f"p99 {result['summary_ms_p99']} ms (target < {TARGET_SUMMARY_MS} ms)",
        f"- machine: {result['cpus']} CPUs, 1-minute load average "
        f"{result['load_average_1m_at_end']} at the end (shared with other work: "
        "compare runs on a quiet machine)",
        "",
    ]
    (RESULTS / "analytics.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
