"""Agenda: a client booked from the console shows today/upcoming; the detail completes,
marks no-show, cancels with a reason and moves a booking; a double submit books once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from calisera.core.app import platform_of
from tests.integration.console.conftest import nonce_of, onboard


async def _book(browser, *, name: str = "Ada Client", pick: int = 0):
    """Book the ``pick``-th free time of tomorrow's week through the console's form."""
    page = await browser.get("/console/bookings/new")
    assert page.status_code == 200, page.text
    starts = re.findall(r'name="start" value="([^"]+)"', page.text)
    service_id = re.search(r'name="service_id" value="([^"]+)"', page.text).group(1)
    form = {
        "nonce": nonce_of(page.text),
        "service_id": service_id,
        "start": starts[pick],
        "customer.name": name,
        "customer.email": "ada@example.com",
        "notes": "Walk-in",
    }
    return form, await browser.post("/console/bookings/new", form)


async def _has_started(app, booking_id: str) -> None:
    """Setup only: the booking's time moves into the past (a booking can be marked
    completed once it has started, and no test waits for the clock)."""
    async with platform_of(app).db.sessionmaker() as session, session.begin():
        await session.execute(
            sa.text(
                "UPDATE bookings.bookings SET start_at = now() - interval '1 hour', "
                "end_at = now() - interval '30 minutes' WHERE id = :id"
            ),
            {"id": booking_id},
        )


async def _provider_bookings(browser, provider):
    r = await browser.get(f"/bff/api/providers/{provider['id']}/bookings")
    return r.json()["items"]


async def test_a_client_booked_from_the_console_is_in_the_agenda_once(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    form, booked = await _book(browser, pick=6)
    assert booked.status_code == 303, booked.text
    again = await browser.post("/console/bookings/new", form)
    assert again.status_code == 303
    [booking] = await _provider_bookings(browser, provider)
    assert booked.headers["location"] == f"/console/bookings/{booking['id']}"
    start = datetime.fromisoformat(booking["start"])
    view = "today" if start.date() == datetime.now(UTC).date() else "upcoming"
    agenda = await browser.get(f"/console/agenda?view={view}")
    upcoming = await browser.get("/console/agenda?view=upcoming")
    assert "Ada Client" in upcoming.text
    assert agenda.status_code == 200
    detail = await browser.get(f"/console/bookings/{booking['id']}")
    assert "Walk-in" in detail.text and "ada@example.com" in detail.text


async def test_a_booking_is_completed_and_another_cancelled_with_a_reason(sign_in, app):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    await _book(browser, name="First", pick=4)
    await _book(browser, name="Second", pick=8)
    by_name = {b["customer"]["name"]: b for b in await _provider_bookings(browser, provider)}
    first = by_name["First"]["id"]
    early = await browser.post(f"/console/bookings/{first}/complete")
    assert early.status_code == 422 and "only after it has started" in early.text
    await _has_started(app, first)
    done = await browser.post(f"/console/bookings/{first}/complete")
    assert done.status_code == 303
    cancelled = await browser.post(
        f"/console/bookings/{by_name['Second']['id']}/cancel", {"reason": "Ill today"}
    )
    assert cancelled.status_code == 303
    by_name = {b["customer"]["name"]: b for b in await _provider_bookings(browser, provider)}
    assert by_name["First"]["status"] == "completed"
    assert by_name["Second"]["status"] == "cancelled"
    detail = await browser.get(f"/console/bookings/{by_name['Second']['id']}")
    assert "Cancelled" in detail.text and "Ill today" in detail.text


async def test_a_booking_is_moved_on_the_customers_behalf(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    await _book(browser, pick=4)
    [booking] = await _provider_bookings(browser, provider)
    detail = await browser.get(f"/console/bookings/{booking['id']}")
    starts = re.findall(r'name="start" value="([^"]+)"', detail.text)
    later = next(
        s
        for s in starts
        if datetime.fromisoformat(s) > datetime.fromisoformat(booking["start"]) + timedelta(hours=2)
    )
    moved = await browser.post(f"/console/bookings/{booking['id']}/reschedule", {"start": later})
    assert moved.status_code == 303, moved.text
    [after] = await _provider_bookings(browser, provider)
    assert datetime.fromisoformat(after["start"]) == datetime.fromisoformat(later)
    nothing = await browser.post(f"/console/bookings/{booking['id']}/reschedule", {})
    assert nothing.status_code == 422 and 'id="f-start-error"' in nothing.text


async def test_booking_without_a_name_shows_the_error_next_to_the_name(sign_in):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    _, r = await _book(browser, name="")
    assert r.status_code == 422
    assert 'id="f-customer-name-error"' in r.text
