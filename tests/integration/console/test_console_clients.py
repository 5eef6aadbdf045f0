"""Clients: everyone who booked, found by name, e-mail or phone, with their bookings,
and the list as CSV that no spreadsheet runs as formulas."""

from __future__ import annotations

import csv
import io
import re

from tests.integration.console.conftest import nonce_of, onboard


async def _book(browser, pick: int, name: str, email: str, phone: str = "") -> None:
    page = await browser.get("/console/bookings/new")
    starts = re.findall(r'name="start" value="([^"]+)"', page.text)
    service_id = re.search(r'name="service_id" value="([^"]+)"', page.text).group(1)
    form = {
        "nonce": nonce_of(page.text),
        "service_id": service_id,
        "start": starts[pick],
        "customer.name": name,
        "customer.email": email,
        "customer.phone": phone,
    }
    booked = await browser.post("/console/bookings/new", form)
    assert booked.status_code == 303, booked.text


async def test_clients_are_grouped_by_email_searchable_and_link_their_bookings(sign_in):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    await _book(browser, 0, "Ada Lovelace", "ada@example.com", "+49 30 1234567")
    await _book(browser, 3, "Ada King", "ADA@example.com")  # same client, new name
    await _book(browser, 6, "Grace Hopper", "grace@example.com")
    page = await browser.get("/console/clients")
    assert page.status_code == 200, page.text
    titles = re.findall(r'<span class="card-title">([^<]+)</span>', page.text)
    assert titles == ["Ada King", "Grace Hopper"]
    assert "2 clients in the last and next 12 months" in page.text
    assert page.text.count('href="/console/bookings/') == 3
    found = await browser.get("/console/clients", params={"q": "grace"})
    assert re.findall(r'<span class="card-title">([^<]+)</span>', found.text) == ["Grace Hopper"]
    by_phone = await browser.get("/console/clients", params={"q": "1234567"})
    assert re.findall(r'<span class="card-title">([^<]+)</span>', by_phone.text) == ["Ada King"]
    for odd in ("\x00", "<script>", "x" * 5_000, "%"):
        answer = await browser.get("/console/clients", params={"q": odd})
        assert answer.status_code == 200 and "<script>" not in answer.text.split("<main")[1]


async def test_csv_export_is_the_searched_list_and_safe_in_spreadsheets(sign_in):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    await _book(browser, 0, '=HYPERLINK("http://evil")', "evil@example.com")
    await _book(browser, 2, "Grace Hopper", "grace@example.com", "+49 30 7654321")
    export = await browser.get("/console/clients.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert [r["email"] for r in rows] == ["evil@example.com", "grace@example.com"]
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil")'  # text, not a formula
    assert rows[1]["phone"] == "'+49307654321" and rows[1]["bookings"] == "1"
    searched = await browser.get("/console/clients.csv", params={"q": "grace"})
    assert [r["email"] for r in csv.DictReader(io.StringIO(searched.text.lstrip("\ufeff")))] == [
        "grace@example.com"
    ]


async def test_another_providers_clients_are_not_shown(sign_in):
    nora = await sign_in("nora@example.com")
    await onboard(nora)
    await _book(nora, 0, "Ada Lovelace", "ada@example.com")
    other = await sign_in("otto@example.com")
    await onboard(other, slug="otto-barber")
    page = await other.get("/console/clients")
    assert "Ada Lovelace" not in page.text and "No one has booked yet" in page.text
    export = await other.get("/console/clients.csv")
    assert "ada@example.com" not in export.text
    stranger = await nora.client.get("/console/clients.csv")
    assert stranger.status_code == 303 and stranger.headers["location"] == "/console/sign-in"


async def test_answers_show_in_the_booking_detail_and_the_bookings_csv(
    sign_in, client, admin_headers
):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    services = await client.get(
        f"/api/v1/providers/{provider['id']}/services", headers=admin_headers
    )
    [service] = services.json()["items"]
    patched = await client.patch(
        f"/api/v1/providers/{provider['id']}/services/{service['id']}",
        headers=admin_headers,
        json={
            "questions": [
                {"kind": "long_text", "label": "Hair history"},
                {"kind": "checkbox", "label": "First visit"},
            ]
        },
    )
    assert patched.status_code == 200, patched.text
    history, first = (q["id"] for q in patched.json()["questions"])
    page = await browser.get("/console/bookings/new")
    start = re.findall(r'name="start" value="([^"]+)"', page.text)[0]
    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": service["id"],
            "start": start,
            "customer": {"name": "Grace Hopper", "email": "grace@example.com"},
            "answers": {history: "=cmd|' /C calc'!A0\nDyed last year", first: True},
        },
    )
    assert booked.status_code == 201, booked.text
    detail = await browser.get(f"/console/bookings/{booked.json()['id']}")
    assert "Hair history" in detail.text and "Dyed last year" in detail.text
    assert 'First visit</dt><dd class="booking-answer">Yes' in detail.text
    export = await browser.get("/console/bookings.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert row["email"] == "grace@example.com" and row["First visit"] == "Yes"
    assert row["Hair history"] == "'=cmd|' /C calc'!A0\nDyed last year"  # text, not a formula
