"""The chart's Prometheus rules: valid for promtool, every alert unit-tested firing by
``promtool test rules``, and every alert with a runbook in ``docs/runbooks/``.

promtool comes from Debian's ``prometheus`` package (``.ci/run`` installs it); without
it these tests skip, and under ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "charts" / "calisera" / "rules"
RULES = RULES_DIR / "calisera-rules.yaml"
RUNBOOKS = ROOT / "docs" / "runbooks"
REQUIRED = {  # the alerts an SRE was promised (issue 17), besides the SLO burn rates
    "CaliseraHighErrorRatio",
    "CaliseraAvailabilityLatencyOverBudget",
    "CaliseraOutboxLagHigh",
    "CaliseraDeadLettersGrowing",
    "CaliseraNotificationFailures",
    "CaliseraOperatorReconcileErrors",
    "CaliseraWorkerNotConsuming",
    "CaliseraErrorBudgetBurnFast",
    "CaliseraErrorBudgetBurnSlow",
    "CaliseraLatencyBudgetBurnFast",
    "CaliseraLatencyBudgetBurnSlow",
}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("promtool is missing (apt-get install prometheus); CI needs it")
    pytest.skip("promtool is not installed (Debian package prometheus)")


def _alerts() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_rules():
    result = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass():
    tests = sorted(str(p.relative_to(RULES_DIR)) for p in (RULES_DIR / "tests").glob("*.yaml"))
    assert tests
    result = subprocess.run(
        [_promtool(), "test", "rules", *tests],
        cwd=RULES_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_promised_alert_exists():
    assert {a["alert"] for a in _alerts()} >= REQUIRED


def test_every_alert_is_tested_firing_and_has_a_runbook():
    fired: set[str] = set()
    for path in (RULES_DIR / "tests").glob("*.yaml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    fired.add(check["alertname"])
    for alert in _alerts():
        name = alert["alert"]
        assert name in fired, f"{name} has no promtool test in which it fires"
        url = alert["annotations"]["runbook_url"]
        assert url.startswith("RUNBOOK_BASE_URL/"), url  # the chart fills in the base
        runbook = RUNBOOKS / url.removeprefix("RUNBOOK_BASE_URL/")
        assert runbook.is_file(), f"{name}: no runbook {runbook}"
        assert name in runbook.read_text(), f"{runbook} does not name {name}"
        assert alert["labels"]["severity"] in {"page", "ticket", "warning"}
