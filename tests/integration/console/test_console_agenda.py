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


async def test_a_request_is_confirmed_and_another_declined_from_the_console(
    sign_in, client, admin_headers
):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    services = await client.get(
        f"/api/v1/providers/{provider['id']}/services", headers=admin_headers
    )
    [service] = services.json()["items"]
    r = await client.patch(
        f"/api/v1/providers/{provider['id']}/services/{service['id']}",
        json={"requires_confirmation": True},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    await _book(browser, name="First", pick=4)
    await _book(browser, name="Second", pick=8)
    by_name = {b["customer"]["name"]: b for b in await _provider_bookings(browser, provider)}
    assert {b["status"] for b in by_name.values()} == {"pending"}
    detail = await browser.get(f"/console/bookings/{by_name['First']['id']}")
    assert "Awaiting your confirmation" in detail.text and "Confirm request" in detail.text
    assert (
        await browser.post(f"/console/bookings/{by_name['First']['id']}/confirm")
    ).status_code == 303
    declined = await browser.post(
        f"/console/bookings/{by_name['Second']['id']}/decline", {"reason": "Fully booked"}
    )
    assert declined.status_code == 303
    by_name = {b["customer"]["name"]: b for b in await _provider_bookings(browser, provider)}
    assert by_name["First"]["status"] == "confirmed"
    assert by_name["Second"]["status"] == "declined"
    again = await browser.post(f"/console/bookings/{by_name['Second']['id']}/confirm")
    assert again.status_code == 422 and "cannot be confirmed" in again.text


async def test_an_occurrences_booking_shows_who_waits_for_it(sign_in, client, admin_headers):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    starts_at = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    r = await client.post(
        f"/api/v1/providers/{provider['id']}/services",
        json={
            "name": "Workshop",
            "kind": "event",
            "duration_minutes": 60,
            "capacity": 1,
            "starts_at": starts_at.isoformat(),
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    event = r.json()
    seated = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": event["id"],
            "start": starts_at.isoformat(),
            "customer": {"name": "Seated", "email": "seated@example.com"},
        },
    )
    assert seated.status_code == 201, seated.text
    for name in ("Wanda", "Xavier"):
        r = await client.post(
            "/api/v1/waitlist",
            json={
                "service_id": event["id"],
                "start": starts_at.isoformat(),
                "customer": {"name": name, "email": f"{name.lower()}@example.com"},
            },
        )
        assert r.status_code == 201, r.text
    detail = await browser.get(f"/console/bookings/{seated.json()['id']}")
    assert detail.status_code == 200, detail.text
    assert "Waitlist of this time (2)" in detail.text
    assert detail.text.index("Wanda") < detail.text.index("Xavier")
    cancelled = await browser.post(f"/console/bookings/{seated.json()['id']}/cancel", {})
    assert cancelled.status_code == 303
    detail = await browser.get(f"/console/bookings/{seated.json()['id']}")
    assert "Wanda &lt;wanda@example.com&gt;: offered a seat until" in detail.text


async def test_a_class_series_is_listed_and_its_rest_cancelled_from_the_console(
    sign_in, client, admin_headers
):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    first = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )
    r = await client.post(
        f"/api/v1/providers/{provider['id']}/services",
        json={
            "name": "Pottery",
            "kind": "class",
            "duration_minutes": 60,
            "capacity": 4,
            "recurrence": {"rrule": "FREQ=WEEKLY", "start_time": "17:00",
                           "starts_on": first.date().isoformat()},
        },
        headers=admin_headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    # the onboarding's provider zone: the class meets at 17:00 there; take its first start
    listed = await client.get(
        "/api/v1/availability",
        params={"service_id": r.json()["id"], "start": first.date().isoformat(),
                "end": first.date().isoformat()},
    )  # fmt: skip
    [slot] = listed.json()["slots"]
    series = await client.post(
        "/api/v1/bookings/series",
        json={
            "service_id": r.json()["id"],
            "start": slot["start"],
            "weeks": 3,
            "customer": {"name": "Potter", "email": "potter@example.com"},
        },
    )
    assert series.status_code == 201, series.text
    first_id = series.json()["bookings"][0]["id"]
    detail = await browser.get(f"/console/bookings/{first_id}")
    assert detail.status_code == 200, detail.text
    assert "Class series (3 classes)" in detail.text
    assert "Cancel this and every later class (3)" in detail.text
    cancelled = await browser.post(f"/console/bookings/{first_id}/cancel", {"scope": "rest"})
    assert cancelled.status_code == 303, cancelled.text
    statuses = await client.get(f"/api/v1/bookings/{first_id}/series", headers=admin_headers)
    assert [b["status"] for b in statuses.json()["bookings"]] == ["cancelled"] * 3
