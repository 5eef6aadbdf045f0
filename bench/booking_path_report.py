"""The readable report of :mod:`bench.booking_path`: ``bench/results/<name>.md``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(c) for c in row) + " |" for row in rows),
    ]


def markdown(r: dict[str, Any]) -> str:
    b, a, ref, ratios = r["bookings"], r["availability"], r["pgbench_reference"], r["ratios"]
    load, m = b["load"], r["machine"]
    lines = [
        f"# The booking path through `calisera up` ({r['measured_at']})",
        "",
        f"Machine: {m['cpus']} CPUs shared with other work; 1-minute load average"
        f" {m['load_avg_1m_start']} at the start, {m['load_avg_1m_end']} at the end."
        " Wall-clock figures move with that load; the ratios to the same-run references and"
        " the CPU per booking are what compare across runs.",
        "",
        "## Summary",
        "",
        *_table(
            ("measure", "value"),
            [
                (
                    "bookings created through `up`",
                    f"**{b['bookings_per_s']}/s** ({b['bookings_created']} in"
                    f" {load['elapsed_s']} s, {load['concurrency']} clients,"
                    f" {b['providers']} providers, statuses {load['statuses']})",
                ),
                ("booking latency p50 / p99", f"{load['p50_ms']} ms / {load['p99_ms']} ms"),
                (
                    "pgbench reference (same server, same GiST exclusion constraint, 8 clients)",
                    f"{ref['tps']} tx/s",
                ),
                ("ratio bookings/s ÷ pgbench tx/s", ratios["bookings_per_s_to_pgbench_tps"]),
                ("ratio bookings/s ÷ /healthz req/s", ratios["bookings_per_s_to_healthz_rps"]),
                (
                    "ratio to issue 16's baseline (28-37/s)",
                    ratios["bookings_per_s_to_issue_baseline"],
                ),
                (
                    "CPU per booking, all processes (load + drain)",
                    f"{b['cpu_ms_per_booking_total']} ms",
                ),
                (
                    "database per booking (load + drain): commits, rollbacks, sessions opened",
                    ", ".join(str(v) for v in (b.get("database_per_booking") or {}).values())
                    or "not measured",
                ),
                (
                    "connections `up` opened during the run, by pool",
                    ", ".join(
                        f"{k} {v:g}" for k, v in (b.get("up_connections_opened") or {}).items()
                    )
                    or "not measured",
                ),
                (
                    "drain after the load (every confirmation at the SMTP sink)",
                    f"{b['drain_s_after_load']} s"
                    f" ({b['confirmations_at_sink']}/{b['bookings_created']} confirmations)",
                ),
                (
                    "lag commit → SMTP accepted, p50 / p95",
                    f"{b['lag_commit_to_smtp_s']['p50']} s / {b['lag_commit_to_smtp_s']['p95']} s",
                ),
                ("overlapping confirmed bookings (SQL check)", b["overlapping_confirmed_pairs"]),
                (
                    "cached availability (one week) req/s, p99",
                    f"{a['cached_week']['requests_per_s']}/s, {a['cached_week']['p99_ms']} ms",
                ),
                (
                    "/healthz of the same process req/s, p99",
                    f"{a['healthz']['requests_per_s']}/s, {a['healthz']['p99_ms']} ms",
                ),
                ("ratio availability ÷ /healthz (target ≥ 0.8)", a["ratio_to_healthz_rps"]),
                (
                    "RSS of all Calisera processes, idle / peak (target ≤ 400 MB idle)",
                    f"{b['calisera_rss_mb_idle']} MB / {b['calisera_rss_mb_peak']} MB"
                    f" (USS idle {b['calisera_uss_mb_idle']} MB)",
                ),
            ],
        ),
        "",
        "## CPU per booking, per process",
        "",
        "From just before the load until every confirmation was at the sink"
        " (`psutil` `cpu_times`, user + system).",
        "",
    ]
    cpu = b["cpu_s_load_and_drain"]
    rows = [
        (
            role,
            cpu[role],
            b["cpu_s_load_window"].get(role, "-"),
            b["cpu_idle_s_per_s"].get(role, "-"),
            b["cpu_ms_per_booking"][role],
            b["cpu_ms_per_booking_less_idle"][role],
        )
        for role in sorted(cpu, key=lambda k: -cpu[k])
    ]
    lines += _table(
        (
            "process",
            "CPU s (load+drain)",
            "CPU s (load only)",
            "idle CPU s/s",
            "ms per booking",
            "ms per booking less idle",
        ),
        rows,
    )
    lines += [
        "",
        f"Window {b['window_s']} s. *Less idle* subtracts what the process burns idle"
        " (polling, sweeps; measured over the idle period before the load) over the window.",
    ]
    lines += ["", "## Memory", ""]
    idle, peak = b["memory_idle"], b["memory_peak_under_load"]
    lines += _table(
        ("process", "processes", "RSS idle MB", "USS idle MB", "RSS peak MB"),
        [
            (
                role,
                idle[role]["processes"],
                idle[role]["rss_mb"],
                idle[role]["uss_mb"],
                peak.get(role, {}).get("rss_mb", "-"),
            )
            for role in sorted(idle)
        ],
    )
    if "scale" in r:
        s = r["scale"]
        lines += ["", "## Horizontal scale (`calisera serve`, same database)", ""]
        lines += _table(
            ("service", "1 process", "2 processes", "ratio 2 ÷ 1"),
            [
                (
                    name,
                    f"{v['one']['requests_per_s']}/s (p99 {v['one']['p99_ms']} ms)",
                    f"{v['two']['requests_per_s']}/s (p99 {v['two']['p99_ms']} ms)",
                    v["ratio"],
                )
                for name, v in s.items()
                if isinstance(v, dict) and "ratio" in v
            ],
        )
        if s.get("note"):
            lines += ["", s["note"]]
    lines += [
        "",
        "Booking = `POST /api/v1/bookings` of a distinct 15-minute slot, from a load process"
        " on the same machine (`bench/http_load.py`, asyncio + httpx). See"
        " `bench/booking_path.py` and `docs/performance.md`.",
        "",
    ]
    return "\n".join(lines)


def write(result: dict[str, Any], folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (folder / f"{name}.md").write_text(markdown(result))
