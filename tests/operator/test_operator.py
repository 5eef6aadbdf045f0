"""The real operator against an emulated Kubernetes API and the real providers service.

Kopf runs are few (each costs seconds): one for the service being unreachable, one for a
tenant's whole life (create, update, outage and recovery, delete).
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.operator.harness import (
    CONFIGMAPS,
    INGRESSES,
    TENANTS,
    ProvidersServer,
    condition,
    events,
    eventually,
    free_port,
    get_json,
    kubernetes,
    providers_endpoints_exist,
    running_operator,
    tenant,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch) -> int:
    """Operator configuration; returns the providers port (nothing listens there yet)."""
    port = free_port()
    monkeypatch.setenv("CALISERA_PROVIDERS_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CALISERA_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("CALISERA_OPERATOR_NAMESPACE", "tenants")
    monkeypatch.setenv("CALISERA_OPERATOR_WEB_SERVICE", "cal-web")
    monkeypatch.setenv("CALISERA_OPERATOR_TLS_ISSUER", "letsencrypt")
    monkeypatch.setenv("CALISERA_OPERATOR_METRICS_PORT", "0")
    monkeypatch.setenv("CALISERA_OPERATOR_HEALTH_PORT", "0")
    monkeypatch.setenv("CALISERA_OPERATOR_RETRY_BASE_DELAY", "0.5")
    monkeypatch.setenv("CALISERA_OPERATOR_RETRY_MAX_DELAY", "2")
    monkeypatch.setenv("CALISERA_OPERATOR_REQUEST_TIMEOUT", "3")
    return port


async def test_unreachable_providers_service_marks_the_tenant_degraded(
    operator_env: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with kubernetes() as kube:
        server_url = str(kube.base_url).rstrip("/")
        monkeypatch.setenv("CALISERA_OPERATOR_KUBE_SERVER", server_url)
        async with running_operator():
            (await kube.post(TENANTS, json=tenant("studio-down"))).raise_for_status()

            async def degraded() -> dict | None:
                obj = await get_json(kube, f"{TENANTS}/studio-down")
                return obj if condition(obj, "Degraded").get("status") == "True" else None

            obj = await eventually(degraded)
            assert condition(obj, "Degraded")["reason"] == "ProvidersUnavailable"
            assert condition(obj, "Ready")["status"] == "False"
            warnings = await eventually(
                lambda: _reasons(kube, "studio-down", "ProvidersUnavailable")
            )
            assert warnings[0]["type"] == "Warning"
            # Nothing was built from a provider that does not exist.
            assert await get_json(kube, f"{CONFIGMAPS}/studio-down-booking-page") is None


async def _reasons(kube: httpx.AsyncClient, name: str, reason: str) -> list[dict]:
    return [e for e in await events(kube, name) if e.get("reason") == reason]


@pytest.mark.skipif(
    not providers_endpoints_exist(),
    reason="the providers service on this branch has no /api/v1/providers endpoints yet "
    "(they come with the `providers` branch)",
)
async def test_tenant_lifecycle_create_update_outage_delete(
    operator_env: int, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    providers = ProvidersServer(settings, operator_env)
    await providers.start()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    api = httpx.AsyncClient(base_url=providers.url, headers=admin, timeout=10)
    try:
        async with kubernetes() as kube:
            monkeypatch.setenv("CALISERA_OPERATOR_KUBE_SERVER", str(kube.base_url).rstrip("/"))
            async with running_operator(drift_interval=2):
                # Create: provider, ConfigMap, one Ingress per domain, status Ready.
                body = tenant(
                    "studio-anna",
                    customDomains=["book.anna.example", "anna.example"],
                    branding={"accentColor": "#aa3300", "welcomeText": "Welcome"},
                )
                (await kube.post(TENANTS, json=body)).raise_for_status()
                obj = await eventually(lambda: _ready(kube, "studio-anna"))
                status = obj["status"]
                public = (await api.get("/api/v1/providers/by-slug/studio-anna")).json()
                assert public["id"] == status["providerId"]
                assert status["bookingUrl"].endswith("/p/studio-anna") or status["bookingUrl"]
                cm = await get_json(kube, f"{CONFIGMAPS}/studio-anna-booking-page")
                assert cm is not None
                assert cm["metadata"]["ownerReferences"][0]["uid"] == "uid-studio-anna"
                page = json.loads(cm["data"]["booking-page.json"])
                assert page["providerId"] == status["providerId"]
                ingress = await get_json(kube, f"{INGRESSES}/studio-anna-book-anna-example")
                assert ingress is not None
                assert ingress["spec"]["tls"][0]["hosts"] == ["book.anna.example"]
                assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == (
                    "letsencrypt"
                )
                assert await get_json(kube, f"{INGRESSES}/studio-anna-anna-example")
                assert await _reasons(kube, "studio-anna", "Created")

                # Drift: changes behind the operator's back are repaired by the timer.
                provider_id = status["providerId"]
                await api.patch(f"/api/v1/providers/{provider_id}", json={"name": "Hijacked"})
                (await kube.delete(f"{CONFIGMAPS}/studio-anna-booking-page")).raise_for_status()
                await eventually(lambda: _provider_name(api, provider_id, "Studio Anna"))
                assert await eventually(
                    lambda: get_json(kube, f"{CONFIGMAPS}/studio-anna-booking-page")
                )

                # Update: the new name reaches the provider; a removed domain loses its Ingress.
                patch = {
                    "metadata": {"generation": 2},
                    "spec": {
                        "displayName": "Studio Anna Berlin",
                        "customDomains": ["anna.example"],
                    },
                }
                await _merge_patch(kube, "studio-anna", patch)
                await eventually(lambda: _provider_name(api, provider_id, "Studio Anna Berlin"))
                await eventually(
                    lambda: _absent(kube, f"{INGRESSES}/studio-anna-book-anna-example")
                )
                obj = await eventually(lambda: _ready(kube, "studio-anna", generation=2))

                # Outage: the change cannot be delivered -> Degraded; back up -> Ready.
                await providers.stop()
                await _merge_patch(
                    kube,
                    "studio-anna",
                    {"metadata": {"generation": 3}, "spec": {"displayName": "Anna"}},
                )
                await eventually(lambda: _degraded(kube, "studio-anna"))
                await providers.start()
                await eventually(lambda: _ready(kube, "studio-anna", generation=3), within=90)
                await eventually(lambda: _provider_name(api, provider_id, "Anna"))

                # Delete: the finalizer suspends the provider, then the resource goes.
                (await kube.delete(f"{TENANTS}/studio-anna")).raise_for_status()
                await eventually(lambda: _absent(kube, f"{TENANTS}/studio-anna"))
                record = (await api.get(f"/api/v1/providers/{provider_id}")).json()
                assert record["suspended"] is True
                assert await _reasons(kube, "studio-anna", "ProviderSuspended")

                # deletionPolicy: Delete removes the provider instead of suspending it.
                body = tenant("studio-gone", deletionPolicy="Delete")
                (await kube.post(TENANTS, json=body)).raise_for_status()
                gone = await eventually(lambda: _ready(kube, "studio-gone"))
                gone_id = gone["status"]["providerId"]
                (await kube.delete(f"{TENANTS}/studio-gone")).raise_for_status()
                await eventually(lambda: _absent(kube, f"{TENANTS}/studio-gone"))
                assert (await api.get(f"/api/v1/providers/{gone_id}")).status_code == 404
    finally:
        await api.aclose()
        await providers.stop()


async def _merge_patch(kube: httpx.AsyncClient, name: str, patch: dict) -> None:
    response = await kube.patch(
        f"{TENANTS}/{name}",
        content=json.dumps(patch),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    response.raise_for_status()


async def _ready(kube: httpx.AsyncClient, name: str, generation: int = 1) -> dict | None:
    obj = await get_json(kube, f"{TENANTS}/{name}")
    if condition(obj, "Ready").get("status") != "True":
        return None
    if (obj or {}).get("status", {}).get("observedGeneration") != generation:
        return None
    return obj


async def _degraded(kube: httpx.AsyncClient, name: str) -> dict | None:
    obj = await get_json(kube, f"{TENANTS}/{name}")
    return obj if condition(obj, "Degraded").get("status") == "True" else None


async def _absent(kube: httpx.AsyncClient, path: str) -> bool:
    return await get_json(kube, path) is None


async def _provider_name(api: httpx.AsyncClient, provider_id: str, name: str) -> bool:
    response = await api.get(f"/api/v1/providers/{provider_id}")
    return response.status_code == 200 and response.json().get("name") == name
