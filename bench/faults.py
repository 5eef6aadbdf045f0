"""The fault suite (tests/faults) as part of ``make bench``: runs it and keeps what each
scenario injected and checked in ``bench/results/faults.json`` for the report."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTEST = [sys.executable, "-m", "pytest"]


def _brief(report: dict[str, Any]) -> dict[str, Any]:
    checks = report["checks"]
    return {
        "scenario": report["injected"][0]["scenario"],
        "injected": report["injected"],
        "storm": report["storm"],
        "drain_s": report["drain_s"],
        "ambiguous_creates_retried": report["ambiguous_creates_retried"],
        "checks": {
            "every_201_exists": {
                "answered_201": checks["every_201_exists"]["answered_201"],
                "missing": len(checks["every_201_exists"]["missing"]),
                "duplicated": len(checks["every_201_exists"]["duplicated"]),
            },
            "no_refused_booking_exists": {
                "refused": checks["no_refused_booking_exists"]["refused"],
                "existing": len(checks["no_refused_booking_exists"]["existing"]),
            },
            "no_overlap": {
                "confirmed": checks["no_overlap"]["confirmed"],
                "overlapping": len(checks["no_overlap"]["overlapping"]),
            },
            "email": {k: v for k, v in checks["email"].items() if k != "wrong"}
            | {"wrong": len(checks["email"]["wrong"])},
            "analytics": {
                "recount": checks["analytics"]["recount"],
                "analytics": checks["analytics"]["analytics"],
                "wrong": len(checks["analytics"]["wrong"]),
            },
            "listing": {
                k: (len(v) if isinstance(v, list) else v) for k, v in checks["listing"].items()
            },
        },
        "failures": report["failures"],
    }


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="calisera-faults-"))
    rc = subprocess.call(
        [*PYTEST, "tests/faults", "-q", "-p", "no:cacheprovider", "--basetemp", str(base)],
        cwd=ROOT,
    )
    reports = [json.loads(p.read_text()) for p in sorted(base.glob("faults*[0-9]/*.json"))]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "faults.json").write_text(
        json.dumps({"pytest_exit": rc, "scenarios": [_brief(r) for r in reports]}, indent=1)
    )
    print(f"faults: {len(reports)} scenarios, pytest exit {rc}")
    if rc:
        sys.exit(rc)


if __name__ == "__main__":
    main()
