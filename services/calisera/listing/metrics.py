"""The listing service's metrics: how its answer cache does, and what computing an
answer costs (the pure :func:`calisera.scheduling.free_slots` and its JSON)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from calisera.core.metrics import LATENCY_BUCKETS

CACHE_REQUESTS = Counter(
    "calisera_listing_cache_requests_total",
    "Availability answers asked of the cache, by result: hit (fresh), stale (served, "
    "recomputed in the background), miss (computed now).",
    ["result"],
)
for _result in ("hit", "stale", "miss"):
    CACHE_REQUESTS.labels(_result)

AVAILABILITY_COMPUTE = Histogram(
    "calisera_availability_compute_seconds",
    "Computing one availability answer from configuration and busy time (free_slots "
    "and its JSON), without the I/O that fetched them.",
    buckets=LATENCY_BUCKETS,
)
