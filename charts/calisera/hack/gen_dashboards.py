#!/usr/bin/env python3
"""Generate the Grafana dashboards of the chart (``charts/calisera/dashboards/*.json``).

Each dashboard is a list of rows of panels declared below, turned into Grafana's
dashboard JSON model (schemaVersion 39, a Prometheus datasource variable). The chart
ships them as ConfigMaps with the Grafana sidecar label (``templates/dashboards.yaml``).
Every query names only metrics the processes export: ``tests/e2e/test_up_metrics.py``
checks each one against a running ``calisera up`` (and the operator's registry).

    python charts/calisera/hack/gen_dashboards.py           # rewrite the JSON files
    python charts/calisera/hack/gen_dashboards.py --check   # exit 1 when one is out of date
"""

# ruff: noqa: E501 - PromQL reads best on one line
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHART = Path(__file__).resolve().parent.parent
OUT = CHART / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
API = 'route!~"/healthz|/readyz|/metrics"'


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"
    description: str = ""


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[tuple[Panel, ...], ...]
    tags: tuple[str, ...] = field(default=("calisera",))


def q(expr: str, legend: str = "") -> tuple[str, str]:
    return (expr, legend)


def p95(metric: str, selector: str = "", by: str = "") -> str:
    group = f"le{', ' + by if by else ''}"
    return f"histogram_quantile(0.95, sum by ({group}) (rate({metric}_bucket{{{selector}}}[5m])))"


def quantiles(metric: str, selector: str = "") -> tuple[tuple[str, str], ...]:
    return tuple(
        q(
            f"histogram_quantile({x}, sum by (le) (rate({metric}_bucket{{{selector}}}[5m])))",
            f"p{int(x * 100)}",
        )
        for x in (0.5, 0.95, 0.99)
    )


DASHBOARDS = (
    Dashboard(
        uid="calisera-overview",
        title="Calisera / Platform overview",
        description="Traffic, errors and latency of every service, the SLOs, the pool, "
        "the pipeline and the business at a glance.",
        rows=(
            (
                Panel(
                    "Requests per second by service",
                    (
                        q(
                            f"sum by (service) (rate(calisera_http_requests_total{{{API}}}[5m]))",
                            "{{service}}",
                        ),
                    ),
                    "reqps",
                ),
                Panel(
                    "5xx ratio by service",
                    (q("calisera:http_errors:ratio_rate5m", "{{service}}"),),
                    "percentunit",
                ),
                Panel(
                    "p95 latency by service",
                    (
                        q(
                            p95("calisera_http_request_duration_seconds", API, "service"),
                            "{{service}}",
                        ),
                    ),
                    "s",
                ),
            ),
            (
                Panel(
                    "Availability SLO: error budget left (30 days)",
                    (q("1 - (calisera:http_errors:ratio_rate30d / 0.001)", "{{service}}"),),
                    "percentunit",
                    "stat",
                ),
                Panel(
                    "Error budget burn rate (1h)",
                    (q("calisera:http_errors:ratio_rate1h / 0.001", "{{service}}"),),
                ),
                Panel(
                    "Availability latency SLO: slow ratio (1h)",
                    (q("calisera:availability_slow:ratio_rate1h", "slower than 100 ms"),),
                    "percentunit",
                ),
            ),
            (
                Panel(
                    "Database pool connections",
                    (
                        q(
                            "sum by (pool, state) (calisera_db_pool_connections)",
                            "{{pool}} {{state}}",
                        ),
                    ),
                ),
                Panel(
                    "Outbox lag",
                    (q("max by (schema) (calisera_relay_lag_seconds)", "{{schema}}"),),
                    "s",
                ),
                Panel(
                    "Bookings per minute by outcome",
                    (
                        q(
                            "sum by (outcome) (rate(calisera_bookings_total[5m])) * 60",
                            "{{outcome}}",
                        ),
                    ),
                ),
            ),
        ),
    ),
    Dashboard(
        uid="calisera-bookings",
        title="Calisera / Bookings",
        description="The reservation lifecycle: outcomes, conflicts and the booking route.",
        rows=(
            (
                Panel(
                    "Bookings per minute by outcome",
                    (
                        q(
                            "sum by (outcome) (rate(calisera_bookings_total[5m])) * 60",
                            "{{outcome}}",
                        ),
                    ),
                ),
                Panel(
                    "Created per minute by kind",
                    (
                        q(
                            'sum by (kind) (rate(calisera_bookings_total{outcome="created"}[5m])) * 60',
                            "{{kind}}",
                        ),
                    ),
                ),
                Panel(
                    "Conflicts per minute",
                    (
                        q(
                            "sum by (kind, operation) (rate(calisera_booking_conflicts_total[5m])) * 60",
                            "{{kind}} {{operation}}",
                        ),
                    ),
                ),
            ),
            (
                Panel(
                    "Conflict ratio of new bookings",
                    (
                        q(
                            'sum(rate(calisera_bookings_total{outcome="conflict"}[5m])) / '
                            'sum(rate(calisera_bookings_total{outcome=~"created|conflict"}[5m]))',
                            "conflicts",
                        ),
                    ),
                    "percentunit",
                ),
                Panel(
                    "POST /api/v1/bookings latency",
                    quantiles(
                        "calisera_http_request_duration_seconds",
                        'route="/api/v1/bookings", method="POST"',
                    ),
                    "s",
                ),
                Panel(
                    "Bookings routes by status",
                    (
                        q(
                            'sum by (route, status) (rate(calisera_http_requests_total{route=~"/api/v1/bookings.*"}[5m]))',
                            "{{route}} {{status}}",
                        ),
                    ),
                    "reqps",
                ),
            ),
        ),
    ),
    Dashboard(
        uid="calisera-listing",
        title="Calisera / Listing",
        description="Availability answers: traffic, latency, compute time and the cache.",
        rows=(
            (
                Panel(
                    "Availability requests per second",
                    (
                        q(
                            'sum by (status) (rate(calisera_http_requests_total{route="/api/v1/availability"}[5m]))',
                            "{{status}}",
                        ),
                    ),
                    "reqps",
                ),
                Panel(
                    "GET /api/v1/availability latency",
                    quantiles(
                        "calisera_http_request_duration_seconds", 'route="/api/v1/availability"'
                    ),
                    "s",
                ),
                Panel(
                    "Compute time of one answer",
                    quantiles("calisera_availability_compute_seconds"),
                    "s",
                ),
            ),
            (
                Panel(
                    "Cache requests by result",
                    (
                        q(
                            "sum by (result) (rate(calisera_listing_cache_requests_total[5m]))",
                            "{{result}}",
                        ),
                    ),
                    "reqps",
                ),
                Panel(
                    "Cache hit ratio",
                    (
                        q(
                            'sum(rate(calisera_listing_cache_requests_total{result=~"hit|stale"}[5m])) / '
                            "sum(rate(calisera_listing_cache_requests_total[5m]))",
                            "hit or stale",
                        ),
                    ),
                    "percentunit",
                ),
                Panel(
                    "Latency SLO: slow ratio",
                    (
                        q("calisera:availability_slow:ratio_rate5m", "5m"),
                        q("calisera:availability_slow:ratio_rate1h", "1h"),
                    ),
                    "percentunit",
                ),
            ),
        ),
    ),
    Dashboard(
        uid="calisera-pipeline",
        title="Calisera / Event pipeline",
        description="Outbox, relay, broker queues and consumers.",
        rows=(
            (
                Panel(
                    "Outbox backlog",
                    (q("max by (schema) (calisera_relay_backlog)", "{{schema}}"),),
                ),
                Panel(
                    "Outbox lag",
                    (q("max by (schema) (calisera_relay_lag_seconds)", "{{schema}}"),),
                    "s",
                ),
                Panel(
                    "Published per second",
                    (
                        q(
                            "sum by (consumer) (rate(calisera_relay_published_total[5m]))",
                            "{{consumer}}",
                        ),
                        q(
                            "sum by (consumer) (rate(calisera_relay_republished_total[5m]))",
                            "{{consumer}} again",
                        ),
                    ),
                    "ops",
                ),
            ),
            (
                Panel(
                    "Queue depth",
                    (q("max by (consumer) (calisera_queue_depth)", "{{consumer}}"),),
                ),
                Panel(
                    "Unconfirmed deliveries",
                    (q("max by (consumer) (calisera_relay_unconfirmed)", "{{consumer}}"),),
                ),
                Panel(
                    "Dead letters",
                    (q("max by (consumer) (calisera_relay_dead_letters)", "{{consumer}}"),),
                ),
            ),
            (
                Panel(
                    "Consumer outcomes per second",
                    (
                        q(
                            "sum by (consumer, outcome) (rate(calisera_consumer_events_total[5m]))",
                            "{{consumer}} {{outcome}}",
                        ),
                    ),
                    "ops",
                ),
                Panel(
                    "Handling time p95",
                    (q(p95("calisera_consumer_handle_seconds", "", "consumer"), "{{consumer}}"),),
                    "s",
                ),
                Panel(
                    "After-commit failures",
                    (
                        q(
                            "sum by (job) (rate(calisera_after_commit_failures_total[5m]))",
                            "{{job}}",
                        ),
                    ),
                    "ops",
                ),
            ),
        ),
    ),
    Dashboard(
        uid="calisera-notifications",
        title="Calisera / Notifications",
        description="E-mail, SMS and web push: sent, failed (retried) and given up.",
        rows=(
            (
                Panel(
                    "Sent per minute by channel",
                    (
                        q(
                            "sum by (channel) (rate(calisera_notifications_sent_total[5m])) * 60",
                            "{{channel}}",
                        ),
                    ),
                ),
                Panel(
                    "Failed attempts per minute by channel",
                    (
                        q(
                            "sum by (channel) (rate(calisera_notifications_failed_total[5m])) * 60",
                            "{{channel}}",
                        ),
                    ),
                ),
                Panel(
                    "Given up (dead) per hour by channel",
                    (
                        q(
                            "sum by (channel) (increase(calisera_notifications_dead_total[1h]))",
                            "{{channel}}",
                        ),
                    ),
                ),
            ),
            (
                Panel(
                    "Failure ratio by channel",
                    (
                        q(
                            "sum by (channel) (rate(calisera_notifications_failed_total[10m])) / ("
                            "sum by (channel) (rate(calisera_notifications_sent_total[10m])) + "
                            "sum by (channel) (rate(calisera_notifications_failed_total[10m])))",
                            "{{channel}}",
                        ),
                    ),
                    "percentunit",
                ),
                Panel(
                    "Notifications queue: handled per second",
                    (
                        q(
                            'sum by (outcome) (rate(calisera_consumer_events_total{consumer="notifications"}[5m]))',
                            "{{outcome}}",
                        ),
                    ),
                    "ops",
                ),
                Panel(
                    "Notifications queue depth",
                    (q('max(calisera_queue_depth{consumer="notifications"})', "waiting"),),
                ),
            ),
        ),
    ),
    Dashboard(
        uid="calisera-operator",
        title="Calisera / Operator",
        description="ProviderTenant reconciliation by the Kopf operator.",
        rows=(
            (
                Panel(
                    "Reconciliations per minute by outcome",
                    (
                        q(
                            "sum by (outcome) (rate(calisera_operator_reconciliations_total[5m])) * 60",
                            "{{outcome}}",
                        ),
                    ),
                ),
                Panel(
                    "Reconcile duration",
                    quantiles("calisera_operator_reconcile_seconds"),
                    "s",
                ),
                Panel(
                    "Providers API errors per minute",
                    (
                        q(
                            "sum by (kind) (rate(calisera_operator_providers_api_errors_total[5m])) * 60",
                            "{{kind}}",
                        ),
                    ),
                ),
            ),
            (
                Panel(
                    "Finalizations by result (1h)",
                    (
                        q(
                            "sum by (result) (increase(calisera_operator_finalizations_total[1h]))",
                            "{{result}}",
                        ),
                    ),
                ),
            ),
        ),
    ),
)


def panel_json(panel: Panel, panel_id: int, x: int, y: int, width: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}}
        if panel.kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"]}},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "expr": expr,
                "legendFormat": legend,
            }
            for i, (expr, legend) in enumerate(panel.queries)
        ],
    }


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    panels = []
    panel_id = 1
    for row_index, row in enumerate(dashboard.rows):
        width = 24 // len(row)
        for column, panel in enumerate(row):
            panels.append(panel_json(panel, panel_id, column * width, row_index * 8, width))
            panel_id += 1
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "timezone": "utc",
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def generate() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {
        f"{d.uid.removeprefix('calisera-')}.json": json.dumps(dashboard_json(d), indent=2) + "\n"
        for d in DASHBOARDS
    }


def main(argv: list[str]) -> int:
    files = generate()
    if "--check" in argv:
        stale = [
            name
            for name, text in files.items()
            if not (OUT / name).exists() or (OUT / name).read_text() != text
        ]
        extra = sorted(p.name for p in OUT.glob("*.json") if p.name not in files)
        if stale or extra:
            print(f"dashboards out of date: {stale + extra}; run {__file__}", file=sys.stderr)
            return 1
        return 0
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (OUT / name).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
