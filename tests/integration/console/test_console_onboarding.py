"""Onboarding: four screens make a booking page with a service and hours, errors of the
providers API show next to their field, and a double submit creates one page."""

from __future__ import annotations

from tests.integration.console.conftest import nonce_of, onboard


async def test_four_screens_make_a_bookable_page(sign_in, client):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    assert provider["slug"] == "nora-hair" and provider["timezone"] == "Europe/Berlin"
    public = (await client.get("/api/v1/providers/by-slug/nora-hair")).json()
    assert [s["name"] for s in public["services"]] == ["Haircut"]
    hours = (await browser.get(f"/bff/api/providers/{provider['id']}/availability")).json()
    assert len(hours["weekly"]) == 7
    share = await browser.get("/console/welcome/share")
    assert provider["booking_url"] in share.text
    assert 'href="/console/share/qr.png"' in share.text


async def test_a_taken_address_is_shown_next_to_the_address(sign_in):
    first = await sign_in("nora@example.com")
    await onboard(first, slug="taken-name")
    second = await sign_in("ola@example.com")
    page = await second.get("/console/welcome")
    body = {"nonce": nonce_of(page.text), "name": "Ola", "slug": "taken-name", "timezone": "UTC"}
    r = await second.post("/console/welcome", body)
    assert r.status_code == 422
    assert 'id="f-slug-error"' in r.text and "taken" in r.text


async def test_the_api_field_error_of_a_bad_address_is_shown_next_to_it(sign_in):
    browser = await sign_in("nora@example.com")
    page = await browser.get("/console/welcome")
    body = {"nonce": nonce_of(page.text), "name": "Nora", "slug": "Bad Slug", "timezone": "UTC"}
    r = await browser.post("/console/welcome", body)
    assert r.status_code == 422
    assert 'id="f-slug-error"' in r.text and "lowercase" in r.text
    assert 'value="Nora"' in r.text  # what was typed stays


async def test_a_double_submit_creates_one_page(sign_in):
    browser = await sign_in("nora@example.com")
    page = await browser.get("/console/welcome")
    body = {"nonce": nonce_of(page.text), "name": "Nora", "slug": "nora-once", "timezone": "UTC"}
    first = await browser.post("/console/welcome", body)
    second = await browser.post("/console/welcome", body)
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == "/console/welcome/service"
    assert len((await browser.get("/bff/api/providers")).json()["items"]) == 1
    service = await browser.get("/console/welcome/service")
    made = {"nonce": nonce_of(service.text), "name": "Cut", "duration_minutes": "30"}
    assert (await browser.post("/console/welcome/service", made)).status_code == 303
    assert (await browser.post("/console/welcome/service", made)).status_code == 303
    [provider] = (await browser.get("/bff/api/providers")).json()["items"]
    services = await browser.get(f"/bff/api/providers/{provider['id']}/services")
    assert [s["name"] for s in services.json()["items"]] == ["Cut"]


async def test_an_open_day_without_times_is_refused_next_to_the_day(sign_in):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    r = await browser.post("/console/welcome/hours", {"day0.open": "on", "day0.start": "09:00"})
    assert r.status_code == 422
    assert 'id="f-day0-error"' in r.text
