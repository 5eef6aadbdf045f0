"""Every process of ``calisera up`` exports the metrics SREs need, with bounded labels.

One ``up`` does the work of many providers (bookings, conflicts, reschedules,
cancellations, availability reads, e-mails); its three endpoints (services on
``--port``, relay on ``+1``, worker on ``+2``) are scraped and checked for every metric
the dashboards and alerts rely on, and for labels that never carry an id, slug or e-mail.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from calisera.core.queue import CONSUMER_QUEUES
from tests.e2e.busy_up import BusyUp, busy_up

pytestmark = pytest.mark.timeout(300)

PROVIDERS = 12

EXPECTED = {
    # RED per route template
    "calisera_http_requests_total": {"service", "method", "route", "status"},
    "calisera_http_request_duration_seconds_bucket": {"service", "method", "route", "le"},
    # database pool
    "calisera_db_pool_connections": {"pool", "state"},
    "calisera_db_connections_opened_total": {"pool"},
    # business
    "calisera_bookings_total": {"kind", "outcome"},
    "calisera_booking_conflicts_total": {"kind", "operation"},
    "calisera_availability_compute_seconds_bucket": {"le"},
    "calisera_listing_cache_requests_total": {"result"},
    # event pipeline
    "calisera_relay_backlog": {"schema"},
    "calisera_relay_lag_seconds": {"schema"},
    "calisera_relay_unconfirmed": {"consumer"},
    "calisera_relay_dead_letters": {"consumer"},
    "calisera_relay_published_total": {"consumer"},
    "calisera_queue_depth": {"consumer"},
    "calisera_consumer_events_total": {"consumer", "outcome"},
    "calisera_consumer_handle_seconds_bucket": {"consumer", "le"},
    # notifications
    "calisera_notifications_sent_total": {"channel"},
    "calisera_notifications_failed_total": {"channel"},
    "calisera_after_commit_failures_total": set(),
}
UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
BOUNDED = {
    "kind": {"simple", "event", "class", "unknown"},
    "outcome": {
        "created",
        "conflict",
        "cancelled",
        "rescheduled",
        "completed",
        "no_show",
        "handled",
        "duplicate",
        "retried",
        "dead_lettered",
    },
    "result": {"hit", "stale", "miss"},
    "pool": {"main", "reader"},
    "state": {"in_use", "idle", "waiting"},
    "consumer": set(CONSUMER_QUEUES),
    "operation": {"create", "reschedule"},
}


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, pg_server_url: str, template_database: str):
    from tests.conftest import _scratch_database

    database = _scratch_database(pg_server_url, template=template_database)
    url = next(database)
    try:
        with busy_up(tmp_path_factory.mktemp("metrics") / "data", url, providers=PROVIDERS) as up:
            yield up
    finally:
        database.close()


def _samples(up: BusyUp, name: str) -> list:
    return [s for samples in up.scrape().values() for s in samples if s.name == name]


def test_every_listed_metric_is_exported_with_its_labels(up: BusyUp):
    found = {s.name: set(s.labels) for samples in up.scrape().values() for s in samples}
    missing = sorted(set(EXPECTED) - set(found))
    assert not missing, f"not exported by any process of up: {missing}"
    for name, labels in EXPECTED.items():
        assert labels <= found[name], f"{name} has labels {found[name]}, wants {labels}"


def test_the_traffic_moved_the_business_counters(up: BusyUp):
    def total(name: str, **labels: str) -> float:
        return sum(
            s.value
            for s in _samples(up, name)
            if all(s.labels.get(k) == v for k, v in labels.items())
        )

    assert total("calisera_bookings_total", kind="simple", outcome="created") == up.bookings
    assert total("calisera_bookings_total", kind="simple", outcome="conflict") == PROVIDERS
    assert total("calisera_booking_conflicts_total", operation="create") == PROVIDERS
    assert total("calisera_bookings_total", outcome="rescheduled") == len(range(0, PROVIDERS, 3))
    assert total("calisera_bookings_total", outcome="cancelled") == len(range(1, PROVIDERS, 3))
    assert total("calisera_listing_cache_requests_total", result="miss") >= PROVIDERS
    assert total("calisera_listing_cache_requests_total", result="hit") >= 1
    assert total("calisera_availability_compute_seconds_count") >= PROVIDERS
    assert total("calisera_notifications_sent_total", channel="email") >= up.bookings
    assert total("calisera_consumer_events_total", consumer="notifications", outcome="handled")
    assert total("calisera_relay_published_total", consumer="notifications") >= up.bookings
    booked = total(
        "calisera_http_requests_total", route="/api/v1/bookings", method="POST", status="201"
    )
    assert booked == up.bookings


def test_latency_buckets_resolve_one_to_five_hundred_ms(up: BusyUp):
    bounds = {
        float(s.labels["le"])
        for s in _samples(up, "calisera_http_request_duration_seconds_bucket")
        if s.labels["le"] != "+Inf"
    }
    within = sorted(b for b in bounds if 0.001 <= b <= 0.5)
    assert within[0] == 0.001 and within[-1] == 0.5 and len(within) >= 10


def test_labels_are_bounded_never_ids_slugs_or_emails(up: BusyUp):
    routes: set[str] = set()
    for samples in up.scrape().values():
        for sample in samples:
            for key, value in sample.labels.items():
                assert "@" not in value, (sample.name, key, value)
                assert not UUID.search(value), (sample.name, key, value)
                assert not any(secret in value for secret in up.secrets), (sample.name, value)
                if key in BOUNDED:
                    assert value in BOUNDED[key], (sample.name, key, value)
                if key == "route":
                    routes.add(value)
    assert "/api/v1/bookings/{booking_id}" in routes
    assert "unmatched" in routes
    # the route label is the template: many providers, not many routes
    assert len(routes) < 60, sorted(routes)


CHART = Path(__file__).resolve().parents[2] / "charts" / "calisera"
METRIC = re.compile(r"\b(calisera_[a-z0-9_]+)")
RECORDED = re.compile(r"\b(calisera:[a-z0-9_:]+)")


def _operator_series() -> set[str]:
    """What the operator serves (it is not part of up): its registry's series names."""
    from prometheus_client.metrics import MetricWrapperBase

    from calisera_operator import metrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    names = set()
    for collector in vars(metrics).values():
        if isinstance(collector, MetricWrapperBase):
            for family in collector.describe():
                names |= {family.name + suffix for suffix in suffixes[family.type]}
    return names


def _queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every dashboard panel and every rule of the chart."""
    found = []
    for path in sorted((CHART / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                found.append((f"{path.name}: {panel['title']}", target["expr"]))
    for group in yaml.safe_load((CHART / "rules" / "calisera-rules.yaml").read_text())["groups"]:
        for rule in group["rules"]:
            found.append((rule.get("alert") or rule["record"], rule["expr"]))
    return found


def test_dashboards_and_rules_query_only_metrics_that_are_exported(up: BusyUp):
    exported = up.series_names() | _operator_series()
    rules = yaml.safe_load((CHART / "rules" / "calisera-rules.yaml").read_text())["groups"]
    recorded = {r["record"] for g in rules for r in g["rules"] if "record" in r}
    queries = _queries()
    assert len(queries) > 60
    dashboards = {
        where.split(":")[0] for where, _ in queries if where.endswith(")") or ".json" in where
    }
    assert {
        f"{d}.json"
        for d in ("overview", "bookings", "listing", "pipeline", "notifications", "operator")
    } <= dashboards
    for where, expr in queries:
        unknown = set(METRIC.findall(expr)) - exported
        assert not unknown, f"{where} queries {sorted(unknown)}, which no process exports"
        assert set(RECORDED.findall(expr)) <= recorded, f"{where}: unknown recorded series"
        assert METRIC.search(expr) or RECORDED.search(expr), where
