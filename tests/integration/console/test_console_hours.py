"""Availability: several intervals a day, date overrides, time off, and blocking the
next hours, which then disappear from the listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.integration.console.conftest import nonce_of, onboard


async def _availability(browser, provider):
    return (await browser.get(f"/bff/api/providers/{provider['id']}/availability")).json()


async def test_weekly_hours_take_several_intervals_a_day(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    page = await browser.get("/console/hours")
    assert page.status_code == 200 and 'name="w0.1.start"' in page.text  # an empty row
    form = {f"w{d}.0.start": "" for d in range(7)} | {f"w{d}.0.end": "" for d in range(7)}
    form.update({"w0.0.start": "09:00", "w0.0.end": "12:00"})
    form.update(
        {"w0.1.start": "13:00", "w0.1.end": "17:00", "w2.0.start": "10:00", "w2.0.end": "14:00"}
    )
    saved = await browser.post("/console/hours/weekly", form)
    assert saved.status_code == 303, saved.text
    weekly = (await _availability(browser, provider))["weekly"]
    assert [(r["weekday"], r["start"][:5], r["end"][:5]) for r in weekly] == [
        (0, "09:00", "12:00"), (0, "13:00", "17:00"), (2, "10:00", "14:00"),
    ]  # fmt: skip


async def test_an_api_error_of_an_interval_is_shown_on_its_row(sign_in):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    form = {"w0.0.start": "09:00", "w0.0.end": "12:00", "w3.0.start": "10:02", "w3.0.end": "12:00"}
    r = await browser.post("/console/hours/weekly", form)
    assert r.status_code == 422
    assert 'id="f-w3-0-error"' in r.text and "5-minute" in r.text
    half = await browser.post("/console/hours/weekly", {"w1.0.start": "09:00", "w1.0.end": ""})
    assert half.status_code == 422 and 'id="f-w1-0-error"' in half.text


async def test_overrides_and_time_off_are_added_and_removed(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    page = await browser.get("/console/hours")
    closed = {"nonce": nonce_of(page.text), "date": "2030-12-24"}
    assert (await browser.post("/console/hours/overrides", closed)).status_code == 303
    page = await browser.get("/console/hours")
    off = {"nonce": nonce_of(page.text), "start": "2030-08-01T00:00", "end": "2030-08-15T00:00"}
    assert (
        await browser.post("/console/hours/time-off", {**off, "reason": "Summer"})
    ).status_code == 303
    # the same form sent again changes nothing
    assert (
        await browser.post("/console/hours/time-off", {**off, "reason": "Summer"})
    ).status_code == 303
    availability = await _availability(browser, provider)
    assert availability["overrides"] == [{"date": "2030-12-24", "intervals": []}]
    assert [t["reason"] for t in availability["time_off"]] == ["Summer"]
    page = await browser.get("/console/hours")
    assert "2030-12-24: closed" in page.text and "(Summer)" in page.text
    removed = await browser.post(
        "/console/hours/remove", {"part": "time_off", "key": availability["time_off"][0]["start"]}
    )
    assert removed.status_code == 303
    assert (await _availability(browser, provider))["time_off"] == []


async def test_a_time_off_ending_before_it_starts_is_shown_next_to_the_field(sign_in):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    page = await browser.get("/console/hours")
    bad = {"nonce": nonce_of(page.text), "start": "2030-08-15T00:00", "end": "2030-08-01T00:00"}
    r = await browser.post("/console/hours/time-off", bad)
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.text and 'class="alert"' in r.text


async def test_blocking_the_next_hours_removes_their_free_times(sign_in, client):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)  # open around the clock, 30-minute haircut
    [service] = (await client.get("/api/v1/providers/by-slug/nora-hair")).json()["services"]
    zone = ZoneInfo("Europe/Berlin")
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    params = {
        "service_id": service["id"],
        "start": today.isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
    }

    def within_3h(slots):
        return [s for s in slots if datetime.fromisoformat(s["start"]) < now + timedelta(hours=3)]

    before = (await client.get("/api/v1/availability", params=params)).json()["slots"]
    assert within_3h(before), "free times in the next hours before blocking"
    page = await browser.get("/console/hours")
    blocked = await browser.post(
        "/console/hours/block", {"nonce": nonce_of(page.text), "hours": "3"}
    )
    assert blocked.status_code == 303
    [off] = (await _availability(browser, provider))["time_off"]
    assert off["reason"] == "Blocked for 3 h from the console"
    after = (await client.get("/api/v1/availability", params=params)).json()["slots"]
    assert within_3h(after) == []
    assert len(after) < len(before)
