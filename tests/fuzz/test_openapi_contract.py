"""The OpenAPI documents are the contract: schemathesis, with all of its checks, finds
nothing against a running ``calisera up`` (issue: apps generate clients from them).

Bounded and reproducible: a fixed seed, a bounded number of examples per operation,
loopback only. The run's output is kept under the test's temporary folder and printed
when something is found. ``.ci/run`` runs this (``-m fuzz``); ``make test`` leaves it
out because it takes minutes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import ROOT, start_up, stop, up_port, wait_healthy

RUN_TIMEOUT = int(os.environ.get("CALISERA_FUZZ_TIMEOUT", "1200"))
pytestmark = [pytest.mark.fuzz, pytest.mark.e2e, pytest.mark.timeout(RUN_TIMEOUT + 300)]

HERE = Path(__file__).resolve().parent
SEED = int(os.environ.get("CALISERA_FUZZ_SEED", "20261202"))
MAX_EXAMPLES = int(os.environ.get("CALISERA_FUZZ_EXAMPLES", "12"))


def _seed_a_provider(base: str, token: str) -> None:
    """Some real data, so operations reached by real ids are fuzzed past their 404."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        r = http.post(
            "/api/v1/providers",
            json={
                "slug": "fuzz-studio",
                "name": "Fuzz Studio",
                "timezone": "Europe/Berlin",
                "owner_email": "owner@fuzz.example",
            },
        )
        assert r.status_code == 201, r.text


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a test dependency (make install-test)"
    port = up_port()
    data_dir = tmp_path / "data"
    proc = start_up(data_dir, port, env={"CALISERA_LOG_JSON": "true"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, timeout=120)
        token = (data_dir / "admin-token").read_text().strip()
        _seed_a_provider(base, token)
        # Fetched here with a generous timeout: schemathesis allows its loader 10 s,
        # which the first (cold) assembly of the document can exceed on a busy machine.
        document = tmp_path / "openapi.json"
        answer = httpx.get(f"{base}/api/openapi.json", timeout=120)
        answer.raise_for_status()
        document.write_bytes(answer.content)
        report = tmp_path / "report"
        output = tmp_path / "schemathesis.txt"
        # Written as it runs, so a run cut short still shows what it had found.
        result: subprocess.CompletedProcess[bytes] | None = None
        with output.open("w") as out, contextlib.suppress(subprocess.TimeoutExpired):
            result = subprocess.run(
                [
                    schemathesis,
                    "--config-file",
                    str(HERE / "schemathesis.toml"),
                    "--no-color",
                    "run",
                    str(document),
                    "--url",
                    base,
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "all",
                    "--phases",
                    "examples,coverage,fuzzing",
                    "--seed",
                    str(SEED),
                    "--max-examples",
                    str(MAX_EXAMPLES),
                    "--workers",
                    "2",
                    "--request-timeout",
                    "20",
                    "--report",
                    "junit",
                    "--report-dir",
                    str(report),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                # The exclusions, each with its reason (docs/openapi-fuzzing.md).
                env={
                    **os.environ,
                    "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
                    "PYTHONPATH": str(ROOT),
                },
                timeout=RUN_TIMEOUT,
                check=False,
            )
    finally:
        stop(proc)
    text = output.read_text()
    assert result is not None, f"schemathesis ran past {RUN_TIMEOUT}s; {output}:\n{text[-25000:]}"
    assert result.returncode == 0, f"{output}:\n{text[-25000:]}"
