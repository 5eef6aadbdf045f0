"""A schedule change that commits while bookings are in flight is respected.

The providers service takes the provider's lock (:mod:`calisera.core.locks`) before it
changes hours, suspends a provider or archives a service; a booking takes the same lock
and only then revalidates the schedule. The race is set up deterministically: a test
transaction holds the provider's row, so the change stops inside its transaction
(after its lock, before its commit); bookings are sent then, while the old schedule is
still what providers answers; the row is released, the change commits. Without the
re-check under the lock those bookings were confirmed against the old schedule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest

from calisera.core.database import libpq_url

from .conftest import booking_body, tomorrow_at

IN_FLIGHT = 6


async def _until(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _waiting_on_locks(conn: psycopg.Connection[Any], locktype: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = %s AND NOT granted", (locktype,)
    ).fetchone()
    return int(row[0]) if row else 0


CHANGES: dict[str, Callable[[Any, Any, dict[str, str]], Awaitable[Any]]] = {
    "hours removed": lambda client, config, admin: client.put(
        f"/api/v1/providers/{config.provider_id}/availability",
        json={"weekly": [], "overrides": [], "time_off": []},
        headers=admin,
    ),
    "provider suspended": lambda client, config, admin: client.patch(
        f"/api/v1/providers/{config.provider_id}", json={"suspended": True}, headers=admin
    ),
    "service archived": lambda client, config, admin: client.delete(
        f"/api/v1/providers/{config.provider_id}/services/{config.service.id}", headers=admin
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_no_booking_is_confirmed_against_a_schedule_changed_while_it_was_in_flight(
    change, client, schedules, admin_headers, database_url
):
    config = await schedules.add_service(duration_minutes=30)
    starts = [tomorrow_at(8 + i) for i in range(IN_FLIGHT)]
    url = libpq_url(database_url)
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as probe:
        holder.execute(
            "SELECT 1 FROM providers.providers WHERE id = %s FOR UPDATE", (config.provider_id,)
        )
        changing = asyncio.create_task(CHANGES[change](client, config, admin_headers))
        await _until(lambda: _waiting_on_locks(probe, "transactionid") >= 1, "the change")
        booking = [
            asyncio.create_task(client.post("/api/v1/bookings", json=booking_body(config, s)))
            for s in starts
        ]
        # the bookings now wait for the provider's lock, which the change holds (without
        # that lock they would be answered at once, against the old schedule)
        await _until(
            lambda: _waiting_on_locks(probe, "advisory") >= 1 or all(t.done() for t in booking),
            "the bookings",
        )
        holder.rollback()
    changed = await changing
    assert changed.status_code == 200, changed.text
    answers = await asyncio.gather(*booking)
    assert {r.status_code for r in answers} <= {409, 422}, [r.text for r in answers]
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM bookings.bookings WHERE provider_id = %s"
            " AND status = 'confirmed'",
            (config.provider_id,),
        ).fetchone()
    assert row is not None and row[0] == 0


async def test_bookings_after_a_change_of_hours_follow_the_new_hours(
    client, schedules, admin_headers, database_url
):
    """The same race with the hours moved, not removed: the new hours are bookable."""
    config = await schedules.add_service(duration_minutes=30)
    weekly = [{"weekday": d, "start": "12:00", "end": "14:00"} for d in range(7)]
    url = libpq_url(database_url)
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as probe:
        holder.execute(
            "SELECT 1 FROM providers.providers WHERE id = %s FOR UPDATE", (config.provider_id,)
        )
        changing = asyncio.create_task(
            client.put(
                f"/api/v1/providers/{config.provider_id}/availability",
                json={"weekly": weekly, "overrides": [], "time_off": []},
                headers=admin_headers,
            )
        )
        await _until(lambda: _waiting_on_locks(probe, "transactionid") >= 1, "the change")
        old_hours = asyncio.create_task(
            client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(9)))
        )
        new_hours = asyncio.create_task(
            client.post("/api/v1/bookings", json=booking_body(config, tomorrow_at(12)))
        )
        await _until(
            lambda: (
                _waiting_on_locks(probe, "advisory") >= 1 or (old_hours.done() and new_hours.done())
            ),
            "the bookings",
        )
        holder.rollback()
    assert (await changing).status_code == 200
    assert (await old_hours).status_code == 422
    assert (await new_hours).status_code == 201
    with psycopg.connect(url) as conn:
        outside = conn.execute(
            "SELECT count(*) FROM bookings.bookings WHERE provider_id = %s"
            " AND status = 'confirmed'"
            " AND ((start_at AT TIME ZONE 'UTC')::time < '12:00'"
            " OR (end_at AT TIME ZONE 'UTC')::time > '14:00')",
            (config.provider_id,),
        ).fetchone()
    assert outside is not None and outside[0] == 0
