"""Checks every rendered manifest of the chart must pass (plain functions over objects)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] in WORKLOAD_KINDS:
        spec: dict[str, Any] = obj["spec"]["template"]["spec"]
        return spec
    return None


def containers(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(obj)
    if spec:
        yield from spec.get("initContainers", [])
        yield from spec["containers"]


def container_problems(obj: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    spec = pod_spec(obj) or {}
    pod_security = spec.get("securityContext") or {}
    for c in containers(obj):
        where = f"{name} container {c['name']}"
        resources = c.get("resources") or {}
        if not resources.get("requests") or not resources.get("limits"):
            problems.append(f"{where}: resources.requests and resources.limits required")
        if obj["kind"] != "Job":
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in c:
                    problems.append(f"{where}: no {probe}")
        image = c["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        if not tag or tag == "latest":
            problems.append(f"{where}: image {image!r} must have a pinned tag")
        security = c.get("securityContext") or {}
        if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
            problems.append(f"{where}: runAsNonRoot")
        if not security.get("readOnlyRootFilesystem"):
            problems.append(f"{where}: readOnlyRootFilesystem")
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation must be false")
        if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{where}: capabilities.drop must contain ALL")
        seccomp = (security.get("seccompProfile") or pod_security.get("seccompProfile") or {}).get(
            "type"
        )
        if seccomp != "RuntimeDefault":
            problems.append(f"{where}: seccompProfile RuntimeDefault")
    return problems


IMAGE_USER = 10001
"""The numeric user of the Dockerfile's runtime stage (``USER 10001``)."""


def pod_problems(obj: dict[str, Any]) -> list[str]:
    """What a pod must not have: host namespaces, privilege, root, a writable root
    filesystem without the one writable place (/tmp, an emptyDir with a size limit)
    every Calisera process writes to (``CALISERA_DATA_DIR=/tmp/calisera``)."""
    spec = pod_spec(obj)
    if spec is None:
        return []
    problems: list[str] = []
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            problems.append(f"{name}: {host}")
    pod_security = spec.get("securityContext") or {}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for v in volumes.values():
        if "hostPath" in v:
            problems.append(f"{name}: hostPath volume {v['name']}")
    for c in containers(obj):
        where = f"{name} container {c['name']}"
        security = c.get("securityContext") or {}
        if security.get("privileged"):
            problems.append(f"{where}: privileged")
        user = security.get("runAsUser", pod_security.get("runAsUser"))
        if user in (None, 0):
            problems.append(f"{where}: runAsUser must be set and not 0")
        elif user != IMAGE_USER:
            problems.append(f"{where}: runAsUser {user} is not the image's user {IMAGE_USER}")
        limits = (c.get("resources") or {}).get("limits") or {}
        if "memory" not in limits:
            problems.append(f"{where}: no memory limit")
        for probe in ("livenessProbe", "readinessProbe"):
            if probe in c and not any(k in c[probe] for k in ("httpGet", "exec", "tcpSocket")):
                problems.append(f"{where}: {probe} checks nothing")
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        tmp = volumes.get(mounts["/tmp"]["name"]) if "/tmp" in mounts else None
        if not tmp or not (tmp.get("emptyDir") or {}).get("sizeLimit"):
            problems.append(f"{where}: /tmp must be an emptyDir with a sizeLimit")
        for path, mount in mounts.items():
            if (
                path != "/tmp"
                and not mount.get("readOnly")
                and "emptyDir" not in volumes.get(mount["name"], {})
            ):
                problems.append(f"{where}: {path} is mounted writable")
    return problems


def selector_problems(objects: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    pods = [
        (o, o["spec"]["template"]["metadata"].get("labels") or {})
        for o in objects
        if o["kind"] in WORKLOAD_KINDS - {"Job"}
    ]
    for obj, labels in pods:
        wanted = obj["spec"]["selector"]["matchLabels"]
        if any(labels.get(k) != v for k, v in wanted.items()):
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: selector does not match")
    for obj in objects:
        if obj["kind"] not in {"Service", "PodDisruptionBudget"}:
            continue
        selector = obj["spec"]["selector"]
        selector = selector.get("matchLabels", selector) if obj["kind"] != "Service" else selector
        matched = [(o, lab) for o, lab in pods if all(lab.get(k) == v for k, v in selector.items())]
        if not matched:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: selects no pods")
            continue
        if obj["kind"] == "Service":
            ports = {
                p.get("name"): p["containerPort"]
                for o, _ in matched
                for c in containers(o)
                for p in c.get("ports", [])
            }
            for port in obj["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                if target not in ports and target not in ports.values():
                    name = obj["metadata"]["name"]
                    problems.append(f"Service/{name}: targetPort {target!r} is no container port")
    return problems


def reference_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Ingress backends, HPA targets and service URLs point at objects of the release."""
    problems: list[str] = []
    services = {
        o["metadata"]["name"]: {p.get("name") for p in o["spec"]["ports"]}
        | {p["port"] for p in o["spec"]["ports"]}
        for o in objects
        if o["kind"] == "Service"
    }
    deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    for o in objects:
        if o["kind"] == "Ingress":
            for rule in o["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    svc = path["backend"]["service"]
                    port = svc["port"].get("name") or svc["port"].get("number")
                    if port not in services.get(svc["name"], set()):
                        problems.append(f"Ingress path {path['path']} -> unknown {svc}")
        if (
            o["kind"] == "HorizontalPodAutoscaler"
            and o["spec"]["scaleTargetRef"]["name"] not in deployments
        ):
            problems.append(f"HPA/{o['metadata']['name']}: no such Deployment")
        for c in containers(o):
            for env in c.get("env", []):
                if env["name"].endswith("_URL") and env["name"].startswith("CALISERA_"):
                    value = env.get("value") or ""
                    if value.startswith("http://"):
                        host, _, port = value.removeprefix("http://").partition(":")
                        if host not in services or int(port) not in services[host]:
                            problems.append(f"{o['metadata']['name']}: {env['name']}={value}")
    return problems


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}
