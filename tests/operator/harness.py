"""A Kubernetes emulator (kmock), the real operator (Kopf) and the real providers service.

kmock 0.8 rough edges handled here (docs/kubernetes.md): resources are declared with
their verbs, the CRD object exists before Kopf starts, objects are created with
``resourceVersion: "1"`` (Kopf's finalizer JSON-patch tests it), Kopf logs in through
``CALISERA_OPERATOR_KUBE_SERVER`` and never scans namespaces (kmock cannot list them).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import kmock
import kopf
import uvicorn
import yaml

from calisera.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "tenants"
TENANTS = "/apis/calisera.io/v1alpha1/namespaces/tenants/providertenants"
CONFIGMAPS = "/api/v1/namespaces/tenants/configmaps"
INGRESSES = "/apis/networking.k8s.io/v1/namespaces/tenants/ingresses"
EVENTS = "/api/v1/namespaces/tenants/events"
VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def providers_endpoints_exist() -> bool:
    """Whether this branch's providers service serves the public provider endpoints."""
    from calisera.assembly import service_spec

    spec = service_spec("providers")
    paths = {getattr(r, "path", "") for router in spec.routers for r in router.routes}
    return any(p.endswith("/providers/by-slug/{slug}") for p in paths)


class ProvidersServer:
    """The real providers service under uvicorn on a fixed loopback port; can be stopped
    and started again (the "API down" scenario)."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from calisera.assembly import build_app

        app = build_app(self.settings, ["providers"])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        await eventually(lambda: self._server is not None and self._server.started, within=30)

    async def stop(self) -> None:
        # Kopf cancels, when it stops, every task created while it ran: a server restarted
        # during the operator's run may already be gone by then.
        if self._server is not None and self._task is not None and not self._task.done():
            self._server.should_exit = True
            await self._task
        self._server = self._task = None


async def eventually(
    check: Callable[[], Any] | Callable[[], Awaitable[Any]], within: float = 60.0
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the last value."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not met within {within} s (last value: {last!r})")


class EventfulEmulator(kmock.KubernetesEmulator):
    """kmock 0.8 keys objects by ``metadata.name`` and ignores ``generateName``: every Event
    Kopf posts after the first one then fails with 409. Name them as the API server does."""

    _generated: int = 0

    async def _handle(self, request: Any) -> Any:
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                type(self)._generated += 1
                meta["name"] = f"{meta['generateName']}{type(self)._generated:05d}"
        return await super()._handle(request)


def declare(emulator: kmock.KubernetesEmulator) -> None:
    emulator.resources.load_bundled()
    emulator.resources["calisera.io/v1alpha1/providertenants"] = kmock.ResourceInfo(
        kind="ProviderTenant",
        singular="providertenant",
        namespaced=True,
        verbs=VERBS,
        subresources={"status"},
    )


@contextlib.asynccontextmanager
async def kubernetes() -> AsyncIterator[httpx.AsyncClient]:
    async with EventfulEmulator() as emulator, kmock.Server(emulator) as server:
        declare(emulator)
        url = str(server.url).rstrip("/")
        async with httpx.AsyncClient(base_url=url, timeout=10) as kube:
            crd = yaml.safe_load((ROOT / "crds" / "providertenants.yaml").read_text())
            created = await kube.post(
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd
            )
            created.raise_for_status()
            yield kube


@contextlib.asynccontextmanager
async def running_operator(drift_interval: float = 300.0) -> AsyncIterator[None]:
    """The real operator in this loop (env configured by the caller), with its own
    registry so that the drift timer can tick fast."""
    from calisera_operator.handlers import register

    registry = register(kopf.OperatorRegistry(), drift_interval=drift_interval)
    stop_flag: asyncio.Event = asyncio.Event()
    ready_flag: asyncio.Event = asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(
            namespaces=[NAMESPACE],
            standalone=True,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
            registry=registry,
            memo=kopf.Memo(),
        )
    )
    try:
        await asyncio.wait_for(ready_flag.wait(), timeout=30)
        yield
    finally:
        stop_flag.set()
        await asyncio.wait_for(task, timeout=30)


def tenant(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "calisera.io/v1alpha1",
        "kind": "ProviderTenant",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "uid": f"uid-{name}",
            "resourceVersion": "1",
            "generation": 1,
        },
        "spec": {
            "slug": name,
            "displayName": name.replace("-", " ").title(),
            "ownerEmail": f"{name}@example.com",
            "timezone": "Europe/Berlin",
            **spec,
        },
    }


async def get_json(kube: httpx.AsyncClient, path: str) -> dict[str, Any] | None:
    response = await kube.get(path)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return dict(c)
    return {}


async def events(kube: httpx.AsyncClient, name: str) -> list[dict[str, Any]]:
    listing = await get_json(kube, EVENTS) or {"items": []}
    return [e for e in listing["items"] if (e.get("involvedObject") or {}).get("name") == name]
