"""Prometheus metrics of the operator (served on ``CALISERA_OPERATOR_METRICS_PORT``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Reconcile durations: fine from 1 ms to 500 ms (a reconcile is a few API calls)."""

RECONCILIATIONS = Counter(
    "calisera_operator_reconciliations_total",
    "ProviderTenant reconciliations by trigger and outcome.",
    ["trigger", "outcome"],
)
RECONCILE_SECONDS = Histogram(
    "calisera_operator_reconcile_seconds",
    "Duration of one ProviderTenant reconciliation.",
    ["trigger"],
    buckets=LATENCY_BUCKETS,
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
