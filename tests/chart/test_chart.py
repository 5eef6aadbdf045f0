"""charts/calisera installed with real Helm (helm-sdkpy) into the kmock emulator.

One emulator and one install per values scenario (well under a second each); every
rendered object is validated against the Kubernetes 1.30 schemas and the policies of
:mod:`tests.chart.policies`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.emulator import (
    NAMESPACE,
    HelmReadyEmulator,
    crd_objects,
    declare_resources,
    kubeconfig,
    manifest_objects,
)
from tests.chart.policies import (
    by_kind,
    container_problems,
    pod_problems,
    reference_problems,
    selector_problems,
)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "calisera"
SCENARIOS = sorted(p.name for p in (CHART / "ci").glob("*-values.yaml"))
SERVICES = [
    "users",
    "providers",
    "bookings",
    "listing",
    "notifications",
    "analytics",
    "integrations",
    "web",
]
QUEUES = ["notifications", "analytics", "listing", "integrations", "providers", "bookings"]
CUSTOM_KINDS = {
    "ServiceMonitor",
    "PodMonitor",
    "PrometheusRule",
    "KopfPeering",
}  # kubernetes-validate knows built-ins only


class Installed:
    def __init__(self, result: dict[str, Any], emulator: HelmReadyEmulator) -> None:
        self.result = result
        self.emulator = emulator
        self.objects = manifest_objects(result["manifest"])
        self.hooks = [yaml.safe_load(h["manifest"]) for h in result.get("hooks") or []]

    def stored(self, plural: str) -> set[str]:
        return {name for (res, _ns, name) in self.emulator.objects if res.plural == plural}


async def helm_install(values: dict[str, Any], release: str = "cal") -> Installed:
    import helm_sdkpy
    import kmock

    async with HelmReadyEmulator() as emulator, kmock.Server(emulator) as server:
        declare_resources(emulator)
        config = helm_sdkpy.Configuration(
            namespace=NAMESPACE, kubeconfig=kubeconfig(str(server.url))
        )
        result = await helm_sdkpy.Install(config).run(
            release, str(CHART), values=values, wait=False, timeout=60
        )
        return Installed(result, emulator)


def scenario_values(name: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "ci" / name).read_text())
    return values


@pytest.fixture(scope="module", params=SCENARIOS)
async def installed(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Installed]]:
    yield request.param, await helm_install(scenario_values(request.param))


async def test_install_applies_every_rendered_object_and_the_crds(installed) -> None:
    _, release = installed
    assert release.result["info"]["status"] == "deployed"
    assert {"providertenants.calisera.io", "kopfpeerings.kopf.dev"} <= release.stored(
        "customresourcedefinitions"
    )
    deployments = set(by_kind(release.objects, "Deployment"))
    assert deployments and deployments <= release.stored("deployments")
    assert set(by_kind(release.objects, "Service")) <= release.stored("services")


async def test_every_object_is_valid_kubernetes_1_30(installed) -> None:
    import kubernetes_validate

    _, release = installed
    errors = []
    for obj in [*release.objects, *release.hooks, *crd_objects(CHART)]:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, "1.30.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert errors == []


async def test_containers_follow_the_security_and_resource_policies(installed) -> None:
    _, release = installed
    objects = [*release.objects, *release.hooks]
    problems = [p for o in objects for p in (*container_problems(o), *pod_problems(o))]
    assert problems == []


async def test_selectors_ports_and_references_resolve(installed) -> None:
    _, release = installed
    assert selector_problems(release.objects) == []
    assert reference_problems(release.objects) == []


async def test_a_deployment_for_every_enabled_service_worker_and_the_relay(installed) -> None:
    scenario, release = installed
    values = scenario_values(scenario)
    services = [
        s for s in SERVICES if (values.get("services", {}).get(s) or {}).get("enabled", True)
    ]
    queues = [q for q in QUEUES if (values.get("workers", {}).get(q) or {}).get("enabled", True)]
    expected = (
        {f"cal-calisera-{s}" for s in services}
        | {f"cal-calisera-worker-{q}" for q in queues}
        | {"cal-calisera-relay"}
    )
    if (values.get("operator") or {}).get("enabled", True):
        expected.add("cal-calisera-operator")
    deployments = by_kind(release.objects, "Deployment")
    assert set(deployments) == expected
    for s in services:
        args = deployments[f"cal-calisera-{s}"]["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[:2] == ["serve", s]
    for q in queues:
        args = deployments[f"cal-calisera-worker-{q}"]["spec"]["template"]["spec"]["containers"][0][
            "args"
        ]
        assert args[:2] == ["worker", q]
    assert set(by_kind(release.objects, "Service")) >= {f"cal-calisera-{s}" for s in services}


async def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(installed) -> None:
    scenario, release = installed
    jobs = [h for h in release.hooks if h["kind"] == "Job"]
    if (scenario_values(scenario).get("migrations") or {}).get("enabled", True) is False:
        assert jobs == []
        return
    (job,) = jobs
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


async def test_operator_rbac_is_namespaced_and_least_privilege(installed) -> None:
    scenario, release = installed
    if (scenario_values(scenario).get("operator") or {}).get("enabled", True) is False:
        assert not by_kind(release.objects, "Role")
        return
    assert not by_kind(release.objects, "ClusterRole")
    (role,) = by_kind(release.objects, "Role").values()
    granted = {
        (group, resource): set(rule["verbs"])
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert "*" not in {v for verbs in granted.values() for v in verbs}
    assert granted[("calisera.io", "providertenants")] >= {"get", "list", "watch", "patch"}
    assert granted[("calisera.io", "providertenants/status")] >= {"patch"}
    assert granted[("calisera.io", "providertenants/finalizers")] == {"update"}
    assert granted[("", "configmaps")] >= {"create", "patch", "get"}
    assert granted[("networking.k8s.io", "ingresses")] >= {"create", "patch", "delete", "list"}
    assert granted[("", "events")] >= {"create"}
    assert granted[("kopf.dev", "kopfpeerings")] >= {"patch", "watch"}
    assert ("", "secrets") not in granted


async def test_ingress_routes_every_api_prefix_and_provider_bookings_to_bookings(installed) -> None:
    scenario, release = installed
    ingresses = by_kind(release.objects, "Ingress")
    if (scenario_values(scenario).get("ingress") or {}).get("enabled", True) is False:
        assert ingresses == {}
        return
    (ingress,) = ingresses.values()
    routes = {
        p["path"]: p["backend"]["service"]["name"]
        for p in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert routes["/api/v1/providers/[^/]+/bookings"] == "cal-calisera-bookings"
    assert routes["/api/v1/providers"] == "cal-calisera-providers"
    assert routes["/auth/"] == routes["/.well-known/"] == "cal-calisera-users"
    assert routes["/api/v1/availability"] == "cal-calisera-listing"
    assert routes["/api/v1/integrations"] == "cal-calisera-integrations"
    assert routes["/p/"] == routes["/console"] == routes["/static/"] == "cal-calisera-web"
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/use-regex"] == "true"


async def test_production_scenario_has_autoscaling_monitoring_and_tls() -> None:
    release = await helm_install(scenario_values("production-values.yaml"))
    assert set(by_kind(release.objects, "HorizontalPodAutoscaler")) == {
        "cal-calisera-listing",
        "cal-calisera-bookings",
    }
    monitors = by_kind(release.objects, "ServiceMonitor")
    assert len(monitors) == len(SERVICES) + 1  # every service and the operator
    assert all(m["metadata"]["labels"]["release"] == "prometheus" for m in monitors.values())
    (ingress,) = by_kind(release.objects, "Ingress").values()
    assert ingress["spec"]["tls"][0]["hosts"] == ["book.calisera.example"]
    assert (
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    )
    assert "Secret" not in {o["kind"] for o in release.objects}  # every secret is existing
    env = by_kind(release.objects, "Deployment")["cal-calisera-bookings"]["spec"]["template"][
        "spec"
    ]["containers"][0]["env"]
    values = {e["name"]: e.get("value") or e.get("valueFrom") for e in env}
    assert values["DATABASE_URL"] == {"secretKeyRef": {"name": "calisera-postgres", "key": "uri"}}
    assert values["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability:4318"
    assert set(by_kind(release.objects, "PodDisruptionBudget")) >= {
        "cal-calisera-worker-notifications"
    }


async def test_every_process_is_scraped_and_rules_and_dashboards_ship() -> None:
    import json

    release = await helm_install(scenario_values("production-values.yaml"))
    deployments = by_kind(release.objects, "Deployment")
    pod_monitors = by_kind(release.objects, "PodMonitor")
    pipeline = {"cal-calisera-relay", *(f"cal-calisera-worker-{q}" for q in QUEUES)}
    assert set(pod_monitors) == pipeline
    for name, monitor in pod_monitors.items():
        assert monitor["metadata"]["labels"]["release"] == "prometheus"
        template = deployments[name]["spec"]["template"]
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert selector.items() <= template["metadata"]["labels"].items(), name
        [container] = template["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        assert monitor["spec"]["podMetricsEndpoints"][0]["port"] in ports, name
        args = container["args"]
        assert args[args.index("--metrics-port") + 1] == str(ports["metrics"])
        assert args[args.index("--metrics-host") + 1] == "0.0.0.0"
        env = {e["name"]: e.get("value") for e in container["env"]}
        if "worker" in name:  # the prefork pool's children are summed by the worker
            assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    (rule,) = by_kind(release.objects, "PrometheusRule").values()
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) >= 11
    for alert in alerts:
        url = alert["annotations"]["runbook_url"]
        assert url.startswith("https://runbooks.calisera.example/calisera-"), url
        assert "RUNBOOK_BASE_URL" not in url and "//calisera" not in url
    dashboards = {
        name: cm
        for name, cm in by_kind(release.objects, "ConfigMap").items()
        if "grafana_dashboard" in cm["metadata"]["labels"]
    }
    expected = {"overview", "bookings", "listing", "pipeline", "notifications", "operator"}
    assert set(dashboards) == {f"cal-calisera-dashboard-{d}" for d in expected}
    for cm in dashboards.values():
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["annotations"] == {"grafana_folder": "Calisera"}
        [(key, text)] = cm["data"].items()
        board = json.loads(text)
        assert key == f"{board['uid']}.json" and board["panels"]


async def test_monitoring_objects_are_off_by_default() -> None:
    release = await helm_install(scenario_values("minimal-values.yaml"))
    kinds = {o["kind"] for o in release.objects}
    assert not kinds & {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    configmaps = by_kind(release.objects, "ConfigMap").values()
    assert not any("grafana_dashboard" in (c["metadata"].get("labels") or {}) for c in configmaps)


async def test_values_schema_rejects_typos_and_the_latest_tag() -> None:
    import helm_sdkpy

    base = scenario_values("minimal-values.yaml")
    with pytest.raises(helm_sdkpy.InstallError, match="replicaz"):
        await helm_install({**base, "serviceDefaults": {"replicaz": 3}})
    with pytest.raises(helm_sdkpy.InstallError, match="tag"):
        await helm_install({**base, "image": {"tag": "latest"}})
    with pytest.raises(helm_sdkpy.InstallError, match=r"database\.url"):
        await helm_install({k: v for k, v in base.items() if k != "database"})


async def test_helm_lint_reports_no_warning_or_error() -> None:
    import helm_sdkpy

    config = helm_sdkpy.Configuration(namespace=NAMESPACE)
    result = await helm_sdkpy.Lint(config).run(str(CHART))
    serious = [m for m in result.get("Messages") or [] if m["Severity"] >= 2]
    assert result.get("Errors") is None
    assert serious == []


def test_every_scenario_is_covered() -> None:
    assert {"minimal-values.yaml", "production-values.yaml"} <= set(SCENARIOS)


async def test_a_provider_tenant_is_accepted_by_the_installed_api() -> None:
    """After `helm install`, `kubectl apply -f tenant.yaml` reaches the API (the CRD and its
    resource are served); the operator's reconciliation is tested in tests/operator."""
    import aiohttp
    import helm_sdkpy
    import kmock

    async with HelmReadyEmulator() as emulator, kmock.Server(emulator) as server:
        declare_resources(emulator)
        config = helm_sdkpy.Configuration(
            namespace=NAMESPACE, kubeconfig=kubeconfig(str(server.url))
        )
        await helm_sdkpy.Install(config).run(
            "cal", str(CHART), values=scenario_values("minimal-values.yaml"), wait=False, timeout=60
        )
        tenant = yaml.safe_load((ROOT / "examples" / "tenant.yaml").read_text())
        collection = f"/apis/calisera.io/v1alpha1/namespaces/{NAMESPACE}/providertenants"
        async with aiohttp.ClientSession(base_url=str(server.url)) as kube:
            async with kube.post(collection, json=tenant) as created:
                assert created.status in {200, 201}
            async with kube.get(collection) as listed:
                items = (await listed.json())["items"]
        assert [t["spec"]["slug"] for t in items] == ["studio-anna"]


async def test_email_needs_an_smtp_url_or_an_explicit_off() -> None:
    import helm_sdkpy

    base = scenario_values("minimal-values.yaml")
    with pytest.raises(helm_sdkpy.InstallError, match=r"email\.smtpUrl is required"):
        await helm_install({k: v for k, v in base.items() if k != "email"})
    off = await helm_install(base)
    sending = await helm_install({**base, "email": {"smtpUrl": "smtp://relay.mail:25"}})

    def smtp_env(release: Installed) -> list[Any]:
        deployments = by_kind(release.objects, "Deployment")
        containers = deployments["cal-calisera-worker-notifications"]["spec"]["template"]["spec"]
        env = containers["containers"][0]["env"]
        return [e.get("value") for e in env if e["name"] == "CALISERA_SMTP_URL"]

    assert smtp_env(off) == []
    assert "E-mail is OFF" in off.result["info"]["notes"]
    assert smtp_env(sending) == ["smtp://relay.mail:25"]
