"""One minute of mixed traffic on a real ``calisera up`` (bench/soak.py; ten minutes in
``make bench``): memory, latency, connections and the pipeline backlog stay flat (a
robust slope over the samples after the warm-up stays within its budget)."""

from __future__ import annotations

import json

import pytest
from bench.soak import run, theil_sen, trends

pytestmark = pytest.mark.timeout(330)


def test_theil_sen_ignores_outliers_and_sees_a_trend():
    xs = [float(x) for x in range(20)]
    flat = [100.0] * 20
    flat[7] = 900.0  # one spike (a GC pause, a neighbour's burst)
    assert theil_sen(xs, flat) == 0.0
    leak = [100.0 + 3 * x for x in xs]
    assert theil_sen(xs, leak) == pytest.approx(3.0)
    samples = [
        {"t": x, "calisera_rss_mb": 300 + 5 * x, "p95_s": 0.1, "connections": 10, "backlog": 0}
        for x in xs
    ]
    fitted = trends(samples)
    assert not fitted["calisera_rss_mb"]["ok"]  # 70 MB over the measured part: a leak
    assert fitted["p95_s"]["ok"] and fitted["backlog"]["ok"]


def test_one_minute_soak_holds_flat(tmp_path):
    # the relay and the worker grow for about a minute before they hold (bench/soak.py)
    report = run(60, 3, tmp_path / "soak.json", warmup=75)
    print(json.dumps({"trends": report["trends"], "requests": report["requests"]}))
    assert sum(n for k, n in report["requests"].items() if k.startswith("book 201")) > 0
    assert len([s for s in report["samples"] if s["t"] >= 75]) >= 15
    assert report["ok"], json.dumps(report["trends"], indent=1)
