"""The chart policy checks (tests/chart/policies.py) find what they claim to find: a
hostile pod trips every rule, the chart's own shape passes (the chart tests then run
them over every rendered manifest with real Helm)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.chart.policies import IMAGE_USER, container_problems, pod_problems

ROOT = Path(__file__).resolve().parents[2]


def _deployment(container: dict[str, Any], **pod: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"template": {"spec": {"containers": [container], **pod}}},
    }


GOOD_CONTAINER = {
    "name": "app",
    "image": "calisera:1.0.0",
    "resources": {"requests": {"cpu": "50m"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8000}},
    "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8000}},
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": IMAGE_USER,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
}
TMP = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]


def test_a_well_formed_pod_passes():
    obj = _deployment(GOOD_CONTAINER, volumes=TMP)
    assert container_problems(obj) == []
    assert pod_problems(obj) == []


def test_a_hostile_pod_trips_every_rule():
    hostile = {
        "name": "bad",
        "image": "calisera:latest",
        "resources": {"limits": {"cpu": "1"}},
        "readinessProbe": {},
        "securityContext": {"privileged": True, "runAsUser": 0},
        "volumeMounts": [{"name": "host", "mountPath": "/data"}],
    }
    obj = _deployment(
        hostile, hostNetwork=True, hostPID=True, volumes=[{"name": "host", "hostPath": {}}]
    )
    found = " | ".join(container_problems(obj) + pod_problems(obj))
    for rule in (
        "resources.requests",
        "no livenessProbe",
        "pinned tag",
        "runAsNonRoot",
        "readOnlyRootFilesystem",
        "allowPrivilegeEscalation",
        "capabilities.drop",
        "seccompProfile",
        "hostNetwork",
        "hostPID",
        "hostPath",
        "privileged",
        "runAsUser must be set and not 0",
        "no memory limit",
        "readinessProbe checks nothing",
        "/tmp must be an emptyDir",
        "/data is mounted writable",
    ):
        assert rule in found, rule


def test_the_image_user_is_the_one_the_chart_runs_as():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    runtime = lines[lines.index("FROM python:3.11-slim AS runtime") :]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users == [str(IMAGE_USER)]  # numeric: runAsNonRoot can verify it
    values = (ROOT / "charts" / "calisera" / "values.yaml").read_text()
    assert f"runAsUser: {IMAGE_USER}" in values
    assert "readOnlyRootFilesystem: true" in values
    # the only place the processes write is /tmp (an emptyDir in the chart)
    assert "CALISERA_DATA_DIR=/tmp/calisera" in " ".join(runtime)
