"""A kmock 0.8 Kubernetes emulator that real Helm (helm-sdkpy) can install into.

kmock 0.8 needs four corrections for Helm (docs/kubernetes.md says where each belongs
upstream): the core ``/api/v1`` discovery answers ``groupVersion: "/v1"`` (Helm then finds
no ConfigMap), lists carry no ``kind``/``apiVersion`` (client-go's decoder refuses them),
there is no ``/openapi/v2`` (Helm validates hooks against it; an empty protobuf document
means "no schemas known", which skips client-side validation), and nothing runs Jobs, so a
pre-install hook Job never completes: here a Job is reported complete as it is created.
The server version is set to 1.30 so that ``kubeVersion`` constraints are checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kmock
import yaml

VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}
NAMESPACE = "calisera"


class HelmReadyEmulator(kmock.KubernetesEmulator):
    async def _serve_list(self, request: Any) -> Any:
        payload = await super()._serve_list(request)
        info = self.resources[request.resource]
        resource = request.resource
        group_version = f"{resource.group}/{resource.version}" if resource.group else "v1"
        payload["kind"] = f"{info.kind}List"
        payload["apiVersion"] = group_version
        for item in payload["items"]:
            item.setdefault("kind", info.kind)
            item.setdefault("apiVersion", group_version)
        return payload

    async def _handle(self, request: Any) -> Any:
        response = await super()._handle(request)
        resource = request.resource
        if (
            request.action == kmock.action.CREATE
            and resource is not None
            and (resource.group, resource.plural) == ("batch", "jobs")
        ):
            name = request.data["metadata"]["name"]
            namespace = request.namespace or request.data["metadata"].get("namespace")
            key = (resource, namespace, name)
            self.objects[key].patch({"status": completed_job_status()})
        return response


def completed_job_status() -> dict[str, Any]:
    now = "2026-01-01T00:00:00Z"
    return {
        "succeeded": 1,
        "startTime": now,
        "completionTime": now,
        "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now},
            {"type": "Complete", "status": "True", "lastTransitionTime": now},
        ],
    }


def declare_resources(emulator: kmock.KubernetesEmulator) -> None:
    """Built-in resources, the chart's custom resources and the corrected discovery."""
    emulator.resources.load_bundled()
    custom = {
        "calisera.io/v1alpha1/providertenants": ("ProviderTenant", {"status"}),
        "kopf.dev/v1/kopfpeerings": ("KopfPeering", set()),
        "monitoring.coreos.com/v1/servicemonitors": ("ServiceMonitor", set()),
        "monitoring.coreos.com/v1/podmonitors": ("PodMonitor", set()),
        "monitoring.coreos.com/v1/prometheusrules": ("PrometheusRule", set()),
    }
    for key, (kind, subresources) in custom.items():
        emulator.resources[key] = kmock.ResourceInfo(
            kind=kind, namespaced=True, verbs=VERBS, subresources=subresources
        )
    core = [
        {
            "name": resource.plural,
            "singularName": info.singular or "",
            "kind": info.kind,
            "namespaced": bool(info.namespaced),
            "verbs": sorted(info.verbs),
        }
        for resource in emulator.resources
        for info in [emulator.resources[resource]]
        if resource.group == "" and resource.version == "v1"
    ]
    emulator["get /api/v1"] << {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "v1",
        "resources": core,
    }
    emulator["get /version"] << {
        "major": "1",
        "minor": "30",
        "gitVersion": "v1.30.0",
        "platform": "linux/amd64",
    }
    emulator["get /openapi/v2"] << b""


def kubeconfig(server_url: str, namespace: str = NAMESPACE) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kmock", "cluster": {"server": server_url}}],
            "users": [{"name": "kmock", "user": {}}],
            "contexts": [
                {
                    "name": "kmock",
                    "context": {"cluster": "kmock", "user": "kmock", "namespace": namespace},
                }
            ],
            "current-context": "kmock",
        }
    )


def manifest_objects(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def crd_objects(chart: Path) -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted((chart / "crds").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
