"""The fault suite on RabbitMQ (the broker of the Kubernetes shape): the node SIGKILLed
and restarted with its data mid-storm, and a worker SIGKILLed with messages unacked.
Publisher confirms, the relay's delivery ledger (re-publication of what no consumer
confirmed) and the consumers' processed-events tables must make up for both."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from tests.faults.conftest import Platform
from tests.faults.test_faults import SEED, run_scenario

pytestmark = [pytest.mark.integration, pytest.mark.broker, pytest.mark.timeout(300)]


def _restart_rabbitmq(p: Platform, rng: random.Random) -> dict[str, Any]:
    assert p.rabbit is not None
    down = round(rng.uniform(2, 4), 2)
    p.rabbit.kill()
    time.sleep(down)
    began = time.monotonic()
    p.rabbit.start()
    return {
        "killed": "RabbitMQ node (private), SIGKILL",
        "down_s": down,
        "started_in_s": round(time.monotonic() - began, 2),
    }


def _kill_worker(p: Platform, rng: random.Random) -> dict[str, Any]:
    return {"killed": "worker (and its pool)", "pid": p.up.kill_child("worker"), "on": "RabbitMQ"}


SCENARIOS = {"restart-rabbitmq": _restart_rabbitmq, "kill-worker-rabbitmq": _kill_worker}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_broker_fault_during_storm_loses_and_doubles_nothing(
    rabbit_platform: Platform, name: str
) -> None:
    report = run_scenario(
        rabbit_platform, name, SCENARIOS[name], SEED + 100 + list(SCENARIOS).index(name)
    )
    assert report["storm"]["create_final_answers"].get("201"), report["storm"]
    assert report["failures"] == [], report["checks"]
