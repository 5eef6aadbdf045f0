"""The bookings service's business metrics.

``calisera_bookings_total{kind,outcome}`` counts what *committed*: it is fed by an
in-process subscriber to the service's own committed ``booking.*`` events (a rolled-back
booking counts nothing, and no write path needs to remember a metric call), plus the
conflicts, which by nature never commit. ``kind`` is the service kind (simple, event,
class), ``outcome`` one of :data:`OUTCOMES`.
"""

from __future__ import annotations

from prometheus_client import Counter

from calisera.core.events import EventEnvelope

OUTCOMES = {
    "booking.created": "created",
    "booking.cancelled": "cancelled",
    "booking.rescheduled": "rescheduled",
    "booking.completed": "completed",
    "booking.no_show": "no_show",
}
KINDS = frozenset({"simple", "event", "class"})

BOOKINGS = Counter(
    "calisera_bookings_total",
    "Bookings by service kind and outcome (created, conflict, cancelled, rescheduled, "
    "completed, no_show).",
    ["kind", "outcome"],
)
CONFLICTS = Counter(
    "calisera_booking_conflicts_total",
    "Bookings or reschedules refused because the time was taken or full, by kind and operation.",
    ["kind", "operation"],
)
for _each in KINDS:  # every series exists from the start: rate() needs no first event
    CONFLICTS.labels(_each, "create")
    CONFLICTS.labels(_each, "reschedule")
    for _outcome in (*OUTCOMES.values(), "conflict"):
        BOOKINGS.labels(_each, _outcome)


def _kind(value: object) -> str:
    return value if isinstance(value, str) and value in KINDS else "unknown"


async def count_committed(event: EventEnvelope) -> None:
    """Committed-events subscriber: one ``booking.*`` event, one count."""
    outcome = OUTCOMES.get(event.type)
    if outcome is not None:
        BOOKINGS.labels(_kind(event.data.get("service_kind")), outcome).inc()


def count_conflict(kind: object, operation: str) -> None:
    kind_label = _kind(kind)
    CONFLICTS.labels(kind_label, operation).inc()
    if operation == "create":
        BOOKINGS.labels(kind_label, "conflict").inc()
