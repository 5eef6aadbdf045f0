"""Chart tests need real Helm through helm-sdkpy (Python >= 3.12): `.ci/chart` or
`make test-chart` build that environment. In the main 3.11 suite they are skipped."""

from __future__ import annotations

import importlib.util
import os

import pytest

HELM_MISSING = importlib.util.find_spec("helm_sdkpy") is None
SKIP_REASON = (
    "helm-sdkpy is not installed in this environment (it needs Python >= 3.12): "
    "run `make test-chart` or .ci/chart"
)
DRIVER_REASON = "HELM_DRIVER=memory must be set in the environment before Helm loads"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if not str(item.fspath).startswith(here):
            continue
        if HELM_MISSING:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
        elif os.environ.get("HELM_DRIVER") != "memory":
            item.add_marker(pytest.mark.skip(reason=DRIVER_REASON))
