"""Availability: the pure engine, and ``GET /api/v1/availability`` under load.

Targets (2-core machine): the engine computes 62 days of a 15-minute-interval service
with 500 existing bookings in under 2 ms; the endpoint serves cached answers at
>= 1,500 requests/s with p99 < 25 ms, and uncached answers with p50 < 15 ms. Every
figure is written beside a reference measured in the same run (sorting 500 datetimes
for the engine; the same server's ``/healthz`` for HTTP), so ratios compare across
machines. Nothing here asserts; it measures and reports.

HTTP runs against ``calisera up --no-workers`` (embedded PostgreSQL, every service in
one uvicorn process, log level WARNING) on 127.0.0.1, loaded by ``wrk`` from a second
process (the two share the machine's cores). Without ``wrk`` the HTTP part is skipped
and says so.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any

import httpx

from calisera.scheduling import check_bookable, free_slots
from calisera.scheduling.model import (
    AvailabilityQuery,
    BusyInterval,
    ProviderSchedule,
    ServiceDefinition,
    ServiceKind,
    WeeklyRule,
)
from calisera.scheduling.zones import uniform_offset

RESULTS = Path(__file__).parent / "results"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Pacific/Chatham",
    "UTC",
    "Asia/Tokyo",
]


# --- the engine ------------------------------------------------------------------------


def engine_query() -> AvailabilityQuery:
    """62 days of a 30-minute service on a 15-minute grid, Mon-Fri 09-17 and Saturday
    10-14 in Berlin, 500 bookings with buffers, answered in New York time."""
    rnd = random.Random(7)
    service = ServiceDefinition(
        id=uuid.uuid4(),
        kind=ServiceKind.SIMPLE,
        duration_minutes=30,
        slot_interval_minutes=15,
        buffer_before_minutes=5,
        buffer_after_minutes=10,
        min_notice_minutes=60,
        booking_window_days=90,
    )
    weekly = (
        *(WeeklyRule(d, wall(9), wall(17)) for d in range(5)),
        WeeklyRule(5, wall(10), wall(14)),
    )
    schedule = ProviderSchedule("Europe/Berlin", weekly)
    now = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
    busy = []
    for _ in range(500):
        day = rnd.randrange(62)
        start = now + timedelta(days=day, minutes=rnd.randrange(0, 9 * 60, 15))
        busy.append(
            BusyInterval(
                start, start + timedelta(minutes=30), 5, 10, service_id=rnd.choice([service.id])
            )
        )
    return AvailabilityQuery(
        schedule,
        service,
        now,
        date(2027, 3, 1),
        date(2027, 5, 1),
        "America/New_York",
        busy=tuple(busy),
    )


def _timings(fn: Any, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _summary_ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "mean_ms": round(statistics.fmean(ordered) * 1e3, 4),
        "p50_ms": round(ordered[len(ordered) // 2] * 1e3, 4),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3, 4),
        "min_ms": round(ordered[0] * 1e3, 4),
    }


def bench_engine(runs: int = 1000) -> dict[str, Any]:
    query = engine_query()
    slots = free_slots(query)
    for _ in range(50):
        free_slots(query)
    warm = _timings(lambda: free_slots(query), runs)

    def cold() -> None:
        uniform_offset.cache_clear()
        free_slots(query)

    cold_runs = _timings(cold, runs // 4)

    rnd = random.Random(3)
    stamps = [
        datetime(2027, 3, 1, tzinfo=UTC) + timedelta(minutes=rnd.randrange(90 * 1440))
        for _ in range(500)
    ]
    reference = _timings(lambda: sorted(stamps), runs)

    probe = slots[len(slots) // 2].start
    check = _timings(lambda: check_bookable(query, probe, 1), runs)

    engine = _summary_ms(warm)
    ref = _summary_ms(reference)
    return {
        "scenario": (
            "62 days, 30-min service on a 15-min grid, Mon-Fri 09-17 + Sat 10-14 "
            "Europe/Berlin, 500 bookings with 5/10-min buffers, output America/New_York"
        ),
        "slots_returned": len(slots),
        "runs": runs,
        "free_slots": engine,
        "free_slots_cold_zone_cache": _summary_ms(cold_runs),
        "check_bookable": _summary_ms(check),
        "reference_sort_500_datetimes": ref,
        "ratio_mean_to_reference": round(engine["mean_ms"] / ref["mean_ms"], 2),
        "ratio_p50_to_reference": round(engine["p50_ms"] / ref["p50_ms"], 2),
        "target_mean_ms": 2.0,
        "meets_target": engine["mean_ms"] < 2.0,
    }


# --- HTTP ---------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"calisera up exited with {proc.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("calisera up did not become healthy")


def _seed(base: str) -> tuple[str, list[str]]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        r = c.post(
            "/api/v1/providers",
            json={
                "slug": f"bench-{uuid.uuid4().hex[:8]}",
                "name": "Bench Studio",
                "timezone": "Europe/Berlin",
                "owner_email": "bench@example.com",
            },
        )
        r.raise_for_status()
        provider = r.json()["id"]
        weekly = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
        weekly.append({"weekday": 5, "start": "10:00", "end": "14:00"})
        c.put(
            f"/api/v1/providers/{provider}/availability", json={"weekly": weekly}
        ).raise_for_status()
        r = c.post(
            f"/api/v1/providers/{provider}/services",
            json={
                "name": "Consultation",
                "kind": "simple",
                "duration_minutes": 30,
                "slot_interval_minutes": 15,
                "buffer_before_minutes": 5,
                "buffer_after_minutes": 10,
                "min_notice_minutes": 60,
                "booking_window_days": 60,
            },
        )
        r.raise_for_status()
        service = r.json()["id"]
        first = datetime.now(UTC).date() + timedelta(days=1)
        r = c.get(
            "/api/v1/availability",
            params={
                "service_id": service,
                "start": str(first),
                "end": str(first + timedelta(days=40)),
            },
        )
        r.raise_for_status()
        starts = [s["start"] for s in r.json()["slots"]]
        rnd = random.Random(5)
        booked = 0
        for start in rnd.sample(starts, min(80, len(starts))):
            r = c.post(
                "/api/v1/bookings",
                json={
                    "service_id": service,
                    "start": start,
                    "customer": {"name": "Bench", "email": "bench@example.com"},
                },
            )
            booked += r.status_code == 201
    dates = [str(first + timedelta(days=i)) for i in range(62)]
    return service, [*dates, str(booked)]


_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_TOTAL = re.compile(r"(\d+) requests in")


def _wrk(url: str, *, seconds: int, connections: int, script: str | None = None) -> dict[str, Any]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    latency = {f"p{p}_ms": round(float(v) * scale[u], 3) for p, v, u in _LATENCY.findall(out)}
    non2xx = _NON2XX.search(out)
    total = _TOTAL.search(out)
    rps = _RPS.search(out)
    return {
        "requests_per_s": float(rps.group(1)) if rps else 0.0,
        **latency,
        "requests": int(total.group(1)) if total else 0,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "connections": connections,
        "seconds": seconds,
    }


def _uncached_script(folder: Path, service: str, dates: list[str]) -> str:
    """A wrk script asking a different (dates, zone) on every request: answer misses."""
    lua = f"""
local dates = {{{",".join(f'"{d}"' for d in dates[:62])}}}
local zones = {{{",".join(f'"{z}"' for z in ZONES)}}}
local counter = 1
function setup(thread) thread:set("id", counter); counter = counter + 1 end
function init(args) math.randomseed(os.time() * 7919 + id * 104729) end
function request()
  local s = math.random(1, 31)
  local e = s + math.random(0, 30)
  local z = zones[math.random(1, #zones)]
  return wrk.format("GET", "/api/v1/availability?service_id={service}&start=" .. dates[s]
    .. "&end=" .. dates[e] .. "&timezone=" .. z)
end
"""
    path = folder / "uncached.lua"
    path.write_text(lua)
    return str(path)


def bench_http(seconds: int = 8) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install -y wrk)"}
    folder = Path(tempfile.mkdtemp(prefix="calisera-bench-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CALISERA_") and k != "DATABASE_URL"
    }
    env.update(
        CALISERA_ADMIN_TOKEN=ADMIN_TOKEN, CALISERA_LOG_LEVEL="WARNING", CALISERA_LOG_JSON="true"
    )
    exe = str(Path(sys.executable).parent / "calisera")
    proc = subprocess.Popen(
        [exe, "up", "--no-workers", "--port", str(port), "--data-dir", str(folder / "data")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "server.log").open("wb"),
    )
    try:
        _wait_healthy(base, proc)
        service, dates = _seed(base)
        booked = int(dates.pop())
        week = f"{base}/api/v1/availability?service_id={service}&start={dates[2]}&end={dates[8]}"
        httpx.get(week).raise_for_status()
        health = _wrk(base + "/healthz", seconds=seconds, connections=32)
        cached = _wrk(week, seconds=seconds, connections=32)
        uncached = _wrk(
            base + "/",
            seconds=seconds,
            connections=4,
            script=_uncached_script(folder, service, dates),
        )
        health_low = _wrk(base + "/healthz", seconds=seconds, connections=4)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "server": "calisera up --no-workers (one uvicorn process, embedded PostgreSQL)",
        "load": "wrk -t2 from a second process on the same 2 cores",
        "bookings_seeded": booked,
        "healthz": health,
        "cached": {
            **cached,
            "request": "one week (7 days), provider zone, same URL on every request",
            "ratio_to_healthz_rps": round(cached["requests_per_s"] / health["requests_per_s"], 3),
            "targets": {"requests_per_s": 1500, "p99_ms": 25},
        },
        "healthz_4_connections": health_low,
        "uncached": {
            **uncached,
            "request": "random 1-31 day ranges in 8 zones: answers miss, busy time is read",
            "ratio_to_healthz_rps": round(
                uncached["requests_per_s"] / health_low["requests_per_s"], 3
            ),
            "targets": {"p50_ms": 15},
        },
    }


# --- report -------------------------------------------------------------------------------


def _markdown(result: dict[str, Any]) -> str:
    e = result["engine"]
    lines = [
        "# Availability benchmark",
        "",
        f"Measured {result['measured_at']} on {result['machine']}.",
        "",
        "## Engine (`calisera.scheduling.free_slots`)",
        "",
        f"Scenario: {e['scenario']}; {e['slots_returned']} slots returned, {e['runs']} runs.",
        "",
        "| measure | mean ms | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    for label, key in [
        ("free_slots (62 days)", "free_slots"),
        ("free_slots, zone memo cleared each run", "free_slots_cold_zone_cache"),
        ("check_bookable (one start)", "check_bookable"),
        ("reference: sort 500 datetimes", "reference_sort_500_datetimes"),
    ]:
        m = e[key]
        lines.append(f"| {label} | {m['mean_ms']} | {m['p50_ms']} | {m['p99_ms']} |")
    lines += [
        "",
        f"free_slots / reference: mean **{e['ratio_mean_to_reference']}**, "
        f"p50 **{e['ratio_p50_to_reference']}** (the machine is shared: p50 is steadier); "
        f"target < 2 ms mean: **{'met' if e['meets_target'] else 'not met'}**.",
        "",
        "## HTTP (`GET /api/v1/availability`)",
        "",
    ]
    h = result["http"]
    if "skipped" in h:
        lines.append(f"Skipped: {h['skipped']}")
    else:
        lines += [
            f"Server: {h['server']}; load: {h['load']}; {h['bookings_seeded']} bookings seeded.",
            "",
            "| run | connections | requests/s | p50 ms | p99 ms | non-2xx | vs /healthz |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, key, ratio in [
            ("/healthz", "healthz", ""),
            ("availability, cached", "cached", h["cached"]["ratio_to_healthz_rps"]),
            ("/healthz", "healthz_4_connections", ""),
            ("availability, uncached", "uncached", h["uncached"]["ratio_to_healthz_rps"]),
        ]:
            r = h[key]
            lines.append(
                f"| {label} | {r['connections']} | {r['requests_per_s']} | "
                f"{r.get('p50_ms')} | {r.get('p99_ms')} | {r['non_2xx']} | {ratio} |"
            )
        lines += [
            "",
            f"Cached: {h['cached']['request']}. Targets >= 1,500 requests/s, p99 < 25 ms.",
            f"Uncached: {h['uncached']['request']}. Target p50 < 15 ms.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    gc.collect()
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "engine": bench_engine(),
        "http": bench_http()
        if os.environ.get("CALISERA_BENCH_SKIP_HTTP") != "1"
        else {"skipped": "CALISERA_BENCH_SKIP_HTTP=1"},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "availability.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "availability.md").write_text(_markdown(result))
    print(_markdown(result))
