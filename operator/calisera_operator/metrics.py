"""Prometheus metrics of the operator (served on ``CALISERA_OPERATOR_METRICS_PORT``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECONCILIATIONS = Counter(
    "calisera_operator_reconciliations_total",
    "ProviderTenant reconciliations by trigger and outcome.",
    ["trigger", "outcome"],
)
RECONCILE_SECONDS = Histogram(
    "calisera_operator_reconcile_seconds",
    "Duration of one ProviderTenant reconciliation.",
    ["trigger"],
)
PROVIDERS_API_ERRORS = Counter(
    "calisera_operator_providers_api_errors_total",
    "Failed calls to the providers service by kind (unavailable, rejected).",
    ["kind"],
)
FINALIZATIONS = Counter(
    "calisera_operator_finalizations_total",
    "Deleted ProviderTenants by what happened to their provider.",
    ["result"],
)
