"""The booking path users run, end to end: ``calisera up`` booking under load, with the
e-mails, analytics and cache invalidation of every booking done.

Run: ``python -m bench booking_path`` (``python -m bench.booking_path --help`` for the
knobs). In one run, on one machine:

1. An aiosmtpd sink (:mod:`bench.smtp_sink`) is ``CALISERA_SMTP_URL`` of a real
   ``calisera up`` (embedded PostgreSQL in a temporary data dir, relay and workers).
2. Providers with hours and a 15-minute service are seeded through the API.
3. A load process (:mod:`bench.http_load`) books distinct slots, bounded in count and
   time; then the run waits until every customer's confirmation is at the sink.
4. CPU of every process (``up``, relay, each worker, PostgreSQL) from before the load to
   the end of the drain, per booking; RSS idle and the peak under load; the lag from a
   booking's ``created_at`` to the sink accepting its e-mail.
5. Cached availability req/s and p99 beside ``/healthz`` of the same process.
6. Same-run references: pgbench on the same embedded server inserting into a table with
   the same GiST exclusion constraint, and ``/healthz``.
Results: ``bench/results/booking_path.json`` and ``.md``. On a machine shared with other
work wall-clock figures move; the ratios and the CPU per booking are what compare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.bookings import _overlaps, pgbench_reference
from bench.process_stats import PeakMemory, Tree, calisera_total, delta, per_booking_ms
from bench.smtp_sink import start_sink

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADMIN_TOKEN = "bench-admin-token-0123456789"
BASELINE_PER_S = (28, 37)
"""Bookings/s through ``up`` measured in issue 16 before this work (wrk, 8-16 connections)."""
SLOT_MINUTES = 15
CALISERA = [sys.executable, "-m", "calisera.cli"]
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES - 1  # the provider works 00:00-23:45


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CALISERA_") and k != "DATABASE_URL"
    }
    env.update(
        CALISERA_ADMIN_TOKEN=ADMIN_TOKEN,
        CALISERA_LOG_JSON="true",
        PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    )
    env.update(extra)
    return env


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{base} did not become healthy")


def seed(base: str, providers: int) -> list[dict[str, str]]:
    """Providers in UTC working every day 00:00-23:45, each with a 15-minute service."""
    entries = []
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        for i in range(providers):
            r = c.post(
                "/api/v1/providers",
                json={
                    "slug": f"bench-{i}-{uuid.uuid4().hex[:6]}",
                    "name": f"Bench Studio {i}",
                    "timezone": "UTC",
                    "owner_email": f"owner{i}@example.com",
                },
            )
            r.raise_for_status()
            provider = r.json()["id"]
            weekly = [{"weekday": d, "start": "00:00", "end": "23:45"} for d in range(7)]
            c.put(
                f"/api/v1/providers/{provider}/availability", json={"weekly": weekly}
            ).raise_for_status()
            r = c.post(
                f"/api/v1/providers/{provider}/services",
                json={
                    "name": "Consultation",
                    "kind": "simple",
                    "duration_minutes": SLOT_MINUTES,
                    "slot_interval_minutes": SLOT_MINUTES,
                    "min_notice_minutes": 0,
                    "booking_window_days": 365,
                },
            )
            r.raise_for_status()
            entries.append({"provider_id": provider, "service_id": r.json()["id"]})
    return entries


def jobs(
    entries: list[dict[str, str]], count: int, first_day: datetime, who: str = "load"
) -> list[dict[str, Any]]:
    """``count`` bookings of distinct slots, spread over the providers."""
    out = []
    for n in range(count):
        entry = entries[n % len(entries)]
        k = n // len(entries)
        start = first_day + timedelta(days=k // SLOTS_PER_DAY, minutes=(k % SLOTS_PER_DAY) * 15)
        out.append(
            {
                "service_id": entry["service_id"],
                "start": start.isoformat(),
                "customer": {"name": f"{who} {n}", "email": f"{who}{n}@example.com"},
            }
        )
    return out


def http_load(mode: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    path = work / f"{mode}-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run(
        [sys.executable, "-m", "bench.http_load", mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=bench_env(),
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))], 3)


def start_up(work: Path, port: int, smtp_port: int) -> subprocess.Popen[bytes]:
    env = bench_env(CALISERA_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}")
    return subprocess.Popen(
        [*CALISERA, "up", "--port", str(port), "--data-dir", str(work / "data")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "up.log").open("wb"),
    )


def wait_pipeline(tree: Tree, timeout: float = 120) -> None:
    """Until the relay and a worker of every queue run (they start after /healthz)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        roles = tree.processes()
        if "relay" in roles and any(r.startswith("worker") for r in roles):
            time.sleep(3)  # their imports and first connections
            return
        time.sleep(0.5)
    raise RuntimeError("the relay and workers of `calisera up` did not start")


def booking_phase(
    args: argparse.Namespace, base: str, tree: Tree, db_url: str, work: Path, sink: Any
) -> dict[str, Any]:
    entries = seed(base, args.providers)
    first_day = datetime.combine(
        datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), UTC
    )
    warm = jobs(entries, args.providers * 2, first_day + timedelta(days=300), "warm")
    http_load("book", {"urls": [base], "concurrency": 4, "jobs": warm, "max_seconds": 60}, work)
    _drain(sink, {j["customer"]["email"] for j in warm}, 60)
    idle_cpu0, idle_began = tree.cpu(), time.monotonic()
    time.sleep(args.idle_seconds)
    idle_cpu = delta(idle_cpu0, tree.cpu())
    idle_rate = {r: round(s / (time.monotonic() - idle_began), 4) for r, s in idle_cpu.items()}
    idle = tree.memory()

    load_jobs = jobs(entries, args.bookings, first_day)
    samplers = []
    if args.profile:
        from bench.profiles import record

        samplers = record(_python_pids(tree), args.profile_seconds, Path(args.profile))
    stats0, opened0 = _database_stats(db_url), _connections_opened(base)
    cpu0, began = tree.cpu(), time.monotonic()
    with PeakMemory(tree) as peak:
        booked = http_load(
            "book",
            {
                "urls": [base],
                "concurrency": args.concurrency,
                "jobs": load_jobs,
                "max_seconds": args.max_seconds,
            },
            work,
        )
        cpu_load = tree.cpu()
        with psycopg.connect(db_url) as conn:
            rows = conn.execute(
                "SELECT customer_email, extract(epoch FROM created_at)::float8 FROM"
                " bookings.bookings WHERE customer_email LIKE 'load%%' AND status = 'confirmed'"
            ).fetchall()
        created = {email: float(at) for email, at in rows}
        drained_in = _drain(sink, set(created), args.drain_timeout)
        cpu_end, window = tree.cpu(), time.monotonic() - began
    stats = {k: v - stats0[k] for k, v in _database_stats(db_url).items()}
    opened = {k: v - opened0.get(k, 0.0) for k, v in _connections_opened(base).items()}
    for sampler in samplers:
        sampler.wait()
    accepted = sink.first_at()
    lags = [accepted[e] - at for e, at in created.items() if e in accepted]
    count = len(created)
    cpu_window = delta(cpu0, cpu_end)
    with psycopg.connect(db_url) as conn:
        overlaps = _overlaps(conn)
    return {
        "providers": args.providers,
        "load": booked,
        "bookings_created": count,
        "bookings_per_s": booked["created_per_s"],
        "cpu_s_load_window": delta(cpu0, cpu_load),
        "cpu_s_load_and_drain": cpu_window,
        "cpu_ms_per_booking": per_booking_ms(cpu_window, count),
        "cpu_idle_s_per_s": idle_rate,
        "window_s": round(window, 2),
        "cpu_ms_per_booking_less_idle": per_booking_ms(
            {r: max(0.0, c - idle_rate.get(r, 0.0) * window) for r, c in cpu_window.items()},
            count,
        ),
        "cpu_ms_per_booking_total": round(sum(cpu_window.values()) * 1000 / count, 2)
        if count
        else None,
        "drain_s_after_load": drained_in,
        "up_connections_opened": opened,
        "database_per_booking": {
            k: round(v / count, 2) if count else None for k, v in stats.items()
        },
        "confirmations_at_sink": sum(1 for e in created if e in accepted),
        "lag_commit_to_smtp_s": {"p50": pct(lags, 0.5), "p95": pct(lags, 0.95)},
        "overlapping_confirmed_pairs": overlaps,
        "memory_idle": idle,
        "memory_peak_under_load": peak.peak,
        "calisera_rss_mb_idle": calisera_total(idle),
        "calisera_rss_mb_peak": calisera_total(peak.peak),
        "calisera_uss_mb_idle": calisera_total(idle, "uss_mb"),
        "first_service": entries[0]["service_id"],
        "first_day": first_day.date().isoformat(),
    }


def _python_pids(tree: Tree) -> dict[str, int]:
    """Each Calisera process by a file-friendly name (a worker's pool child: ``-pool``)."""
    out: dict[str, int] = {}
    for role, procs in tree.processes().items():
        if role == "postgres":
            continue
        for i, proc in enumerate(procs):
            out[role if i == 0 else f"{role}-pool{i}"] = proc.pid
    return out


def _database_stats(db_url: str) -> dict[str, int]:
    """PostgreSQL's own counters of the database (load and drain, every process):
    committed transactions and sessions opened (a pool that churns connections shows)."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT xact_commit, xact_rollback, sessions FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return {"commits": row[0], "rollbacks": row[1], "sessions_opened": row[2]}


def _connections_opened(base: str) -> dict[str, float]:
    """``up``'s ``calisera_db_connections_opened_total`` by pool."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return {
        line.split('pool="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("calisera_db_connections_opened_total{")
    }


def _drain(sink: Any, emails: set[str], timeout: float) -> float | None:
    """Seconds until every address in ``emails`` got a message at the sink (None: not)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if emails <= set(sink.first_at()):
            return round(time.monotonic() - began, 2)
        time.sleep(0.1)
    return None


def availability_phase(
    args: argparse.Namespace, base: str, service: str, day: str, work: Path
) -> dict[str, Any]:
    end = (datetime.fromisoformat(day) + timedelta(days=6)).date().isoformat()
    path = f"/api/v1/availability?service_id={service}&start={day}&end={end}"
    httpx.get(base + path, timeout=30).raise_for_status()
    spec = {"urls": [base], "concurrency": args.get_concurrency, "seconds": args.get_seconds}
    health = http_load("get", spec | {"path": "/healthz"}, work)
    cached = http_load("get", spec | {"path": path}, work)
    return {
        "healthz": health,
        "cached_week": cached,
        "ratio_to_healthz_rps": round(cached["requests_per_s"] / health["requests_per_s"], 3),
        "targets": {"ratio_to_healthz_rps": 0.8, "p99_ms": 25},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="calisera-bench-path-"))
    os.chmod(work, 0o755)  # the embedded server runs as its own user
    smtp_port, port = free_port(), free_port()
    sink, controller = start_sink(smtp_port)
    base = f"http://127.0.0.1:{port}"
    proc = start_up(work, port, smtp_port)
    pgdata = work / "data" / "postgres"
    db_url = f"postgresql://postgres@/postgres?host={pgdata}"
    tree = Tree(roots=[proc.pid], pgdata=pgdata)
    result: dict[str, Any] = {
        "benchmark": "booking_path",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_start": round(os.getloadavg()[0], 2)},
        "server": "calisera up (embedded PostgreSQL, relay, workers), SMTP to an aiosmtpd sink",
    }
    try:
        wait_healthy(base, proc)
        wait_pipeline(tree)
        result["processes"] = sorted(tree.processes())
        print("booking under load ...", file=sys.stderr, flush=True)
        result["bookings"] = booking_phase(args, base, tree, db_url, work, sink)
        print("availability beside /healthz ...", file=sys.stderr, flush=True)
        b = result["bookings"]
        result["availability"] = availability_phase(
            args, base, b["first_service"], b["first_day"], work
        )
        print("pgbench reference ...", file=sys.stderr, flush=True)
        result["pgbench_reference"] = pgbench_reference(db_url, args.pgbench_seconds, 8)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        controller.stop()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    b = result["bookings"]
    result["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    result["ratios"] = {
        "bookings_per_s_to_pgbench_tps": round(
            b["bookings_per_s"] / result["pgbench_reference"]["tps"], 4
        ),
        "bookings_per_s_to_healthz_rps": round(
            b["bookings_per_s"] / result["availability"]["healthz"]["requests_per_s"], 4
        ),
        "availability_to_healthz_rps": result["availability"]["ratio_to_healthz_rps"],
        "bookings_per_s_to_issue_baseline": round(
            b["bookings_per_s"] / statistics.fmean(BASELINE_PER_S), 2
        ),
    }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.booking_path")
    parser.add_argument("--bookings", type=int, default=3000, help="at most this many")
    parser.add_argument("--max-seconds", type=float, default=40, help="and at most this long")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--providers", type=int, default=20)
    parser.add_argument("--drain-timeout", type=float, default=180)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--get-seconds", type=float, default=8)
    parser.add_argument("--get-concurrency", type=int, default=16)
    parser.add_argument("--pgbench-seconds", type=int, default=6)
    parser.add_argument("--profile", help="record py-spy profiles of each process here")
    parser.add_argument("--profile-seconds", type=float, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    parser.add_argument("--out", default="booking_path", help="results file name")
    args = parser.parse_args([] if argv is None else argv)
    from bench.booking_path_report import write

    result = run(args)
    write(result, RESULTS, args.out)
    print(json.dumps(result["ratios"] | {"bookings_per_s": result["bookings"]["bookings_per_s"]}))


if __name__ == "__main__":
    main(sys.argv[1:])
