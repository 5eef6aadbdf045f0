"""`helm install` then `kubectl apply -f examples/tenant.yaml` gives a working tenant.

The chart is installed with real Helm into the kmock emulator; then the operator runs as
the chart's Deployment would run it — same command, same environment taken from the
rendered manifest (Secret references resolved from the rendered Secret) — against that
emulator, with the providers service of a real `calisera up` (embedded PostgreSQL)
standing in for the in-cluster Service name. The operator and `calisera up` come from
the main environment (`.venv`, Python 3.11); without it this test is skipped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.emulator import NAMESPACE, HelmReadyEmulator, declare_resources, kubeconfig
from tests.chart.policies import by_kind
from tests.chart.test_chart import CHART, ROOT, Installed, scenario_values

MAIN_BIN = ROOT / ".venv" / "bin"
ADMIN_TOKEN = "chart-test-admin-token"

pytestmark = pytest.mark.skipif(
    not (MAIN_BIN / "calisera-operator").exists(),
    reason="the main environment (.venv with calisera-operator) is not installed: make install",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def operator_environment(release: Installed) -> dict[str, str]:
    """The operator container's env as the chart renders it, Secrets resolved."""
    secrets = {
        name: obj.get("stringData") or {}
        for name, obj in by_kind(release.objects, "Secret").items()
    }
    deployment = by_kind(release.objects, "Deployment")["cal-calisera-operator"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["calisera-operator"]
    env: dict[str, str] = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"]][ref["key"]]
    return env


async def wait_for(check: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.3)
    raise AssertionError(f"{what} not within {within} s")


async def stop(proc: subprocess.Popen[bytes], within: float = 30) -> int:
    """SIGTERM, then wait without blocking the loop (the emulator serves from it)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + within
        while proc.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Embedded PostgreSQL runs as its own user: its directory and every parent must be
    reachable by it, which pytest's private tmp_path (0700 parent) is not."""
    root = Path(tempfile.mkdtemp(prefix="calisera-chart-"))
    root.chmod(0o755)
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


async def test_helm_install_then_apply_tenant_gives_a_ready_tenant(
    tmp_path: Path, data_dir: Path
) -> None:
    import aiohttp
    import helm_sdkpy
    import kmock

    values = scenario_values("minimal-values.yaml")
    values["adminToken"] = {"value": ADMIN_TOKEN}
    up_port = free_port()
    base_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "HELM_DRIVER"}}
    up = subprocess.Popen(  # noqa: ASYNC220 - a long-running child
        [str(MAIN_BIN / "calisera"), "up", "--no-workers", "--port", str(up_port),
         "--data-dir", str(data_dir)],
        env={**base_env, "CALISERA_ADMIN_TOKEN": ADMIN_TOKEN, "CALISERA_LOG_JSON": "true"},
        stdout=(tmp_path / "up.log").open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with (
            HelmReadyEmulator() as emulator,
            kmock.Server(emulator) as server,
            aiohttp.ClientSession() as http,
        ):
            declare_resources(emulator)
            url = str(server.url).rstrip("/")
            config = helm_sdkpy.Configuration(namespace=NAMESPACE, kubeconfig=kubeconfig(url))
            result = await helm_sdkpy.Install(config).run(
                "cal", str(CHART), values=values, wait=False, timeout=60
            )
            release = Installed(result, emulator)

            async def up_healthy() -> bool:
                assert up.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
                try:
                    async with http.get(f"http://127.0.0.1:{up_port}/healthz") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(up_healthy, 90, "calisera up")

            env = operator_environment(release)
            assert env["CALISERA_PROVIDERS_URL"] == "http://cal-calisera-providers:8000"
            env |= {
                # No cluster DNS and no service account here: the two substitutions.
                "CALISERA_PROVIDERS_URL": f"http://127.0.0.1:{up_port}",
                "CALISERA_OPERATOR_KUBE_SERVER": url,
                "CALISERA_OPERATOR_HEALTH_PORT": str(free_port()),
                "CALISERA_OPERATOR_METRICS_PORT": str(free_port()),
            }
            operator = subprocess.Popen(  # noqa: ASYNC220 - a long-running child
                [str(MAIN_BIN / "calisera-operator")],
                env={**base_env, **env},
                stdout=(tmp_path / "operator.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            try:
                await check_tenant_becomes_ready(http, url, up_port, operator, tmp_path)
            finally:
                # While the emulator still answers the operator's last peering update.
                assert await stop(operator) == 0

    finally:
        await stop(up)


async def check_tenant_becomes_ready(
    http: Any, url: str, up_port: int, operator: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    tenant = yaml.safe_load((ROOT / "examples" / "tenant.yaml").read_text())
    # kmock 0.8 sets neither resourceVersion, uid nor the namespace from the URL
    # (docs/kubernetes.md); the API server would.
    tenant["metadata"] |= {
        "resourceVersion": "1",
        "uid": "uid-studio-anna",
        "namespace": NAMESPACE,
    }
    collection = f"{url}/apis/calisera.io/v1alpha1/namespaces/{NAMESPACE}/providertenants"
    async with http.post(collection, json=tenant) as created:
        assert created.status in {200, 201}

    async def ready() -> dict[str, Any] | None:
        assert operator.poll() is None, (tmp_path / "operator.log").read_text()[-3000:]
        async with http.get(f"{collection}/studio-anna") as r:
            obj: dict[str, Any] = await r.json()
        conditions = (obj.get("status") or {}).get("conditions") or []
        ok = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        return obj if ok else None

    obj = await wait_for(ready, 60, "ProviderTenant Ready")
    provider_id = obj["status"]["providerId"]
    async with http.get(f"http://127.0.0.1:{up_port}/api/v1/providers/by-slug/studio-anna") as r:
        assert (await r.json())["id"] == provider_id
    cm_url = f"{url}/api/v1/namespaces/{NAMESPACE}/configmaps/studio-anna-booking-page"
    async with http.get(cm_url) as r:
        assert r.status == 200
    ingress_url = (
        f"{url}/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/ingresses/"
        "studio-anna-book-studio-anna-example"
    )
    async with http.get(ingress_url) as r:
        ingress = await r.json()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "cal-calisera-web", "port": {"number": 8000}}
