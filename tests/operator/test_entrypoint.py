"""`calisera-operator` as a process: it starts, answers liveness and metrics, and stops."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.operator.harness import eventually, free_port, kubernetes

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("runner", ["calisera-operator", "kopf run -m calisera_operator"])
async def test_operator_process_serves_liveness_and_metrics_and_stops_on_sigterm(
    runner: str,
) -> None:
    health, metrics = free_port(), free_port()
    command = (
        [str(BIN / "calisera-operator")]
        if runner == "calisera-operator"
        else [
            str(BIN / "kopf"),
            "run",
            "-m",
            "calisera_operator",
            "--standalone",
            "--namespace",
            "tenants",
            "--liveness",
            f"http://127.0.0.1:{health}/healthz",
        ]
    )
    async with kubernetes() as kube:
        env = {
            **os.environ,
            "CALISERA_OPERATOR_KUBE_SERVER": str(kube.base_url).rstrip("/"),
            "CALISERA_OPERATOR_NAMESPACE": "tenants",
            "CALISERA_OPERATOR_HEALTH_PORT": str(health),
            "CALISERA_OPERATOR_METRICS_PORT": str(metrics),
            "CALISERA_PROVIDERS_URL": f"http://127.0.0.1:{free_port()}",
            "CALISERA_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        proc = subprocess.Popen(  # noqa: ASYNC220 - a long-running child, polled below
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            async with httpx.AsyncClient(timeout=2) as http:

                async def answers(url: str) -> httpx.Response | None:
                    assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                    try:
                        response = await http.get(url)
                    except httpx.TransportError:
                        return None
                    return response if response.status_code == 200 else None

                live = await eventually(lambda: answers(f"http://127.0.0.1:{health}/healthz"))
                assert "reconciliations" in live.json()
                scraped = await eventually(lambda: answers(f"http://127.0.0.1:{metrics}/metrics"))
                assert "calisera_operator_reconciliations_total" in scraped.text
        finally:
            proc.send_signal(signal.SIGTERM)
            for _ in range(150):
                if proc.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                proc.kill()
        assert proc.returncode == 0
