"""Faults during a booking storm against a real ``calisera up``: processes SIGKILLed at
seeded random moments, PostgreSQL (and the table queue in it) restarted, SMTP down
then slow, Redis down. After recovery nothing may be lost or doubled (tests/faults/checks.py).

Each scenario writes ``<tmp>/<scenario>.json`` (what was injected, what was checked) and
prints a one-line summary. Bounded: a storm lasts ``STORM_SECONDS`` with at most
``max_ops`` requests, loopback only.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.faults.checks import verify
from tests.faults.conftest import Platform, wait_until
from tests.faults.storm import Storm

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

STORM_SECONDS = float(os.environ.get("CALISERA_FAULT_STORM_SECONDS", "6"))
SEED = int(os.environ.get("CALISERA_FAULT_SEED", "20"))


def _kill_relay(p: Platform, rng: random.Random) -> dict[str, Any]:
    return {"killed": "relay", "pid": p.up.kill_child("relay"), "signal": "SIGKILL"}


def _kill_worker(p: Platform, rng: random.Random) -> dict[str, Any]:
    return {
        "killed": "worker (and its pool)",
        "pid": p.up.kill_child("worker"),
        "signal": "SIGKILL",
    }


def _kill_http(p: Platform, rng: random.Random) -> dict[str, Any]:
    assert p.up.proc is not None
    pid = p.up.proc.pid
    p.up.kill()
    began = time.monotonic()
    p.up.start()
    return {
        "killed": "calisera up (the HTTP process; children follow)",
        "pid": pid,
        "restarted_in_s": round(time.monotonic() - began, 2),
    }


def _restart_postgres(p: Platform, rng: random.Random) -> dict[str, Any]:
    down = round(rng.uniform(2, 4), 2)
    p.pg.stop_server()
    time.sleep(down)
    p.pg.start_server()
    return {"restarted": "PostgreSQL (embedded; also the table queue)", "down_s": down}


def _smtp_down_then_slow(p: Platform, rng: random.Random) -> dict[str, Any]:
    down = round(rng.uniform(3, 5), 2)
    p.sink.refuse = True
    time.sleep(down)
    p.sink.refuse = False
    p.sink.delay = 1.0
    return {"smtp": "refusing with 451", "down_s": down, "then_slow_s_per_message": 1.0}


def _redis_down(p: Platform, rng: random.Random) -> dict[str, Any]:
    down = round(rng.uniform(2, 4), 2)
    p.redis.kill()
    time.sleep(down)
    p.redis.start()
    return {"killed": "redis-server (private)", "down_s": down, "restarted": True}


SCENARIOS: dict[str, Callable[[Platform, random.Random], dict[str, Any]]] = {
    "kill-relay": _kill_relay,
    "kill-worker": _kill_worker,
    "kill-http": _kill_http,
    "restart-postgres": _restart_postgres,
    "smtp-down-then-slow": _smtp_down_then_slow,
    "redis-down": _redis_down,
}


def run_scenario(
    platform: Platform, name: str, inject: Callable[..., dict[str, Any]], seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    provider = platform.up.seed_provider(name)
    wait_until(
        lambda: platform.pg.query(
            "SELECT 1 FROM notifications.providers WHERE provider_id = %s", provider["provider_id"]
        ),
        timeout=120,
        what="the provider known to notifications",
    )
    storm = Storm(platform.up.base, provider["service_id"], seed, seconds=STORM_SECONDS)
    thread = threading.Thread(target=storm.run)
    began = time.monotonic()
    thread.start()
    at = round(rng.uniform(1.0, STORM_SECONDS * 0.6), 2)
    time.sleep(at)
    injected = [{"at_s": at, "scenario": name, **inject(platform, rng)}]
    injected[0]["recovered_at_s"] = round(time.monotonic() - began, 2)
    thread.join()
    platform.sink.delay = 0.0
    report = verify(
        platform.pg, platform.sink, storm, provider, platform.work / f"{name}.json", injected
    )
    report["scenario"] = name
    shown = {k: report[k] for k in ("storm", "drain_s", "failures")}
    print(f"\nfault {name}: {json.dumps({'injected': injected, **shown}, default=str)}")
    return report


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_fault_during_storm_loses_and_doubles_nothing(platform: Platform, name: str) -> None:
    report = run_scenario(platform, name, SCENARIOS[name], SEED + list(SCENARIOS).index(name))
    assert report["storm"]["create_final_answers"].get("201"), report["storm"]
    if name == "kill-http":  # the storm was running into the dead port and retried
        assert report["storm"]["create_retries"] > 0, report["storm"]
    assert report["failures"] == [], json.dumps(report["checks"], indent=1, default=str)
