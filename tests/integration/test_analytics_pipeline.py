"""End to end through the real queue: bookings outbox -> relay -> broker -> a real
``calisera worker analytics`` subprocess -> the dashboard API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.pipeline.conftest import (
    BROKERS,
    booking_event,
    insert_outbox,
    make_pipeline,
    query,
    wait_for,
)

__all__ = ["make_pipeline"]  # the fixture, imported for this module


@pytest.mark.parametrize("broker", BROKERS)
async def test_outbox_events_reach_the_dashboard_through_the_analytics_worker(
    broker: str, make_pipeline: Any, client: Any, admin_headers: dict[str, str]
) -> None:
    pipeline = make_pipeline(broker)
    pipeline.start_worker("analytics")
    pipeline.start_relay()
    provider = uuid.uuid4()
    start = datetime(2027, 3, 5, 10, tzinfo=UTC)
    kept, cancelled, done = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def event(type_: str, booking: uuid.UUID, version: int, email: str) -> Any:
        e = booking_event(
            type_,
            booking_id=booking,
            version=version,
            start=start,
            email=email,
            phone="+44 20 7946 0958",
            provider_id=provider,
            extra={"status": type_.removeprefix("booking.").replace("created", "confirmed")},
        )
        return e.model_copy(update={"occurred_at": datetime(2027, 3, 1, 12, tzinfo=UTC)})

    events = [
        event("booking.created", kept, 1, "ana@example.test"),
        event("booking.created", cancelled, 1, "bo@example.test"),
        event("booking.cancelled", cancelled, 2, "bo@example.test"),
        event("booking.created", done, 1, "ANA@example.test"),
        event("booking.completed", done, 2, "ana@example.test"),
    ]
    insert_outbox(pipeline.settings.database_url, *events)
    db = pipeline.settings.database_url
    wait_for(
        lambda: len(query(db, "SELECT 1 FROM analytics.processed_events")) == len(events),
        timeout=60,
        what="the analytics worker to handle every event",
    )
    response = await client.get(
        f"/api/v1/analytics/providers/{provider}/summary",
        params={"from": "2027-03-01", "to": "2027-03-31"},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    s = response.json()
    assert (s["bookings_created"], s["cancelled"], s["completed"], s["no_show"]) == (3, 1, 1, 0)
    assert s["customers"] == {"new": 2, "returning": 0, "repeat_rate": 0.5}
    wait_for(
        lambda: (
            len(
                query(
                    db,
                    "SELECT 1 FROM relay.deliveries WHERE consumer = 'analytics' "
                    "AND confirmed_at IS NOT NULL",
                )
            )
            == len(events)
        ),
        what="every analytics delivery confirmed",
    )
