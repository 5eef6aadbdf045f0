"""Horizontal scale, shown rather than assumed: ``calisera serve bookings`` and
``calisera serve listing`` with one and with two processes on the same database.

``python -m bench scale``. A real ``calisera up`` provides the database (its embedded
PostgreSQL), the providers service the bookings processes ask over HTTP (the real
``ProvidersClient``, with ``CALISERA_PROVIDERS_URL``) and the pipeline that takes their
events. For each service and each process count, the same bounded load (``bench.http_load``,
loopback only, requests spread round-robin over the processes) books distinct slots or
reads one week's cached availability; the result is the throughput of two processes over
that of one, measured in the same run, each run started once ``up``'s pipeline has
handled the previous run's events. On a two-core machine the second process shares the
cores with the first, PostgreSQL, ``up`` and the load itself: the ratio says how much a
second replica adds there, not on a bigger node. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.booking_path import (
    CALISERA,
    RESULTS,
    ROOT,
    bench_env,
    free_port,
    http_load,
    jobs,
    seed,
    start_up,
    wait_healthy,
    wait_pipeline,
)
from bench.process_stats import Tree
from bench.smtp_sink import start_sink


def start_serve(service: str, port: int, db_url: str, up_base: str, work: Path) -> Any:
    """One ``calisera serve`` process; every other service is ``up``'s."""
    peers = {
        f"CALISERA_{name.upper()}_URL": up_base
        for name in ("users", "providers", "bookings", "listing", "notifications", "analytics")
        if name != service
    }
    env = bench_env(DATABASE_URL=db_url, **peers)
    return subprocess.Popen(
        [*CALISERA, "serve", service, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / f"serve-{service}-{port}.log").open("wb"),
    )


def stop(procs: list[Any]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_drained(db_url: str, timeout: float = 300) -> float:
    """Until ``up``'s pipeline has handled every event so far (each run starts on a quiet
    machine, not in the previous run's drain); returns the seconds waited."""
    began = time.monotonic()
    with psycopg.connect(db_url, autocommit=True) as conn:
        while time.monotonic() - began < timeout:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM relay.deliveries"
                "        WHERE confirmed_at IS NULL AND dead_at IS NULL)"
                "     + (SELECT count(*) FROM bookings.outbox WHERE published_at IS NULL)"
            ).fetchone()
            if row is not None and row[0] == 0:
                break
            time.sleep(0.5)
    return round(time.monotonic() - began, 1)


def with_processes(
    service: str, count: int, db_url: str, up_base: str, work: Path, measure: Any
) -> dict[str, Any]:
    drained_in = wait_drained(db_url)
    ports = [free_port() for _ in range(count)]
    procs = [start_serve(service, port, db_url, up_base, work) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, proc in zip(urls, procs, strict=True):
            wait_healthy(url, proc)
        tree = Tree(roots=[p.pid for p in procs], pgdata=None)
        cpu0 = sum(tree.cpu().values())
        result: dict[str, Any] = measure(urls)
        result["cpu_s_serving_processes"] = round(sum(tree.cpu().values()) - cpu0, 2)
        result["processes"] = count
        result["waited_for_the_pipeline_s"] = drained_in
        return result
    finally:
        stop(procs)


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="calisera-bench-scale-"))
    os.chmod(work, 0o755)  # the embedded server runs as its own user
    smtp_port, port = free_port(), free_port()
    _, controller = start_sink(smtp_port)  # up's e-mails go somewhere real
    base = f"http://127.0.0.1:{port}"
    up = start_up(work, port, smtp_port)
    pgdata = work / "data" / "postgres"
    db_url = f"postgresql://postgres@/postgres?host={pgdata}"
    result: dict[str, Any] = {
        "benchmark": "scale",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_start": round(os.getloadavg()[0], 2)},
    }
    try:
        wait_healthy(base, up)
        wait_pipeline(Tree(roots=[up.pid], pgdata=pgdata))
        entries = seed(base, args.providers)
        first_day = datetime.combine(
            datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), UTC
        )
        days_apart = 30  # each run books its own days: every request is a distinct slot

        def booking(offset: int) -> Any:
            def measure(urls: list[str]) -> dict[str, Any]:
                day = first_day + timedelta(days=offset * days_apart)
                warm = jobs(
                    entries, 4 * len(urls), day + timedelta(days=days_apart // 2), f"w{offset}-"
                )
                http_load("book", {"urls": urls, "concurrency": 4, "jobs": warm}, work)
                spec = {
                    "urls": urls,
                    "concurrency": args.concurrency,
                    "jobs": jobs(entries, args.bookings, day, f"scale{offset}-"),
                    "max_seconds": args.seconds,
                }
                return http_load("book", spec, work)

            return measure

        end = (first_day + timedelta(days=6)).date().isoformat()
        path = (
            f"/api/v1/availability?service_id={entries[0]['service_id']}"
            f"&start={first_day.date().isoformat()}&end={end}"
        )

        def availability(urls: list[str]) -> dict[str, Any]:
            spec = {"urls": urls, "concurrency": args.concurrency, "seconds": args.seconds}
            http_load("get", spec | {"path": path, "seconds": 2}, work)  # fill each cache
            return http_load("get", spec | {"path": path}, work)

        print("bookings x1, x2 ...", file=sys.stderr, flush=True)
        one = with_processes("bookings", 1, db_url, base, work, booking(1))
        two = with_processes("bookings", 2, db_url, base, work, booking(2))
        result["bookings"] = {
            "one": one,
            "two": two,
            "ratio_two_to_one": round(two["created_per_s"] / one["created_per_s"], 3),
        }
        print("listing x1, x2 ...", file=sys.stderr, flush=True)
        one = with_processes("listing", 1, db_url, base, work, availability)
        two = with_processes("listing", 2, db_url, base, work, availability)
        result["listing"] = {
            "one": one,
            "two": two,
            "ratio_two_to_one": round(two["requests_per_s"] / one["requests_per_s"], 3),
        }
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
        controller.stop()
        shutil.rmtree(work, ignore_errors=True)
    result["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    return result


def write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(result, indent=1) + "\n")
    b, li = result["bookings"], result["listing"]
    lines = [
        f"# Horizontal scale: one and two `calisera serve` processes ({result['measured_at']})",
        "",
        f"Machine: {result['machine']['cpus']} CPUs; 1-minute load average "
        f"{result['machine']['load_avg_1m_start']} at the start, "
        f"{result['machine']['load_avg_1m_end']} at the end. The processes share the "
        "machine with `calisera up` (database, providers, pipeline) and the load.",
        "",
        "| service, load | 1 process | 2 processes | ratio 2 : 1 |",
        "|---|---|---|---|",
        f"| bookings, POST distinct slots: per s (p50 / p99 ms) | {b['one']['created_per_s']}"
        f" ({b['one']['p50_ms']} / {b['one']['p99_ms']}) | {b['two']['created_per_s']}"
        f" ({b['two']['p50_ms']} / {b['two']['p99_ms']}) | **{b['ratio_two_to_one']}** |",
        f"| listing, GET a cached week: per s (p50 / p99 ms) | {li['one']['requests_per_s']}"
        f" ({li['one']['p50_ms']} / {li['one']['p99_ms']}) | {li['two']['requests_per_s']}"
        f" ({li['two']['p50_ms']} / {li['two']['p99_ms']}) | **{li['ratio_two_to_one']}** |",
        f"| CPU s of the serving processes, bookings | {b['one']['cpu_s_serving_processes']} |"
        f" {b['two']['cpu_s_serving_processes']} | |",
        "",
        "Statuses: bookings "
        f"{b['one']['statuses']} / {b['two']['statuses']}; listing "
        f"{li['one']['statuses']} / {li['two']['statuses']}. See `bench/scale.py`.",
        "",
    ]
    (RESULTS / "scale.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--bookings", type=int, default=2000, help="at most this many per run")
    parser.add_argument("--seconds", type=float, default=15, help="and at most this long")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--providers", type=int, default=20)
    args = parser.parse_args([] if argv is None else argv)
    result = run(args)
    write(result)
    print(
        json.dumps(
            {
                "bookings_two_to_one": result["bookings"]["ratio_two_to_one"],
                "listing_two_to_one": result["listing"]["ratio_two_to_one"],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
