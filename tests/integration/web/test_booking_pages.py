"""The customer booking pages through the whole platform in one app (real services,
real PostgreSQL): every page, every error page, and the booking flow with its edges."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from calisera.core.settings import Settings
from tests.integration.web.studio import ZONE, Studio, free_slots, open_studio

NEW_YORK = "America/New_York"


@pytest.fixture
async def studio(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Studio:
    return await open_studio(client, admin_headers)


def tomorrow(zone: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date() + timedelta(days=1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def form_of(html: str) -> dict[str, str]:
    return {n: hidden(html, n) for n in ("start", "tz", "nonce")}


async def open_form(client: httpx.AsyncClient, studio: Studio, start: str, tz: str) -> str:
    page = await client.get(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book", params={"start": start, "tz": tz}
    )
    assert page.status_code == 200, page.text
    return page.text


CUSTOMER = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "",
    "notes": "",
    "seats": "1",
}


# --- provider page -----------------------------------------------------------------


async def test_provider_page_shows_profile_and_every_kind_of_service(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    page = await client.get(f"/p/{studio.slug}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    html = page.text
    assert "Studio Lumen" in html and "Willkommen!" in html
    assert "Portraits &amp; &lt;b&gt;light&lt;/b&gt;" in html  # autoescaped, not markup
    for service in (studio.simple, studio.event, studio.klass):
        assert service["name"] in html
        assert f"/p/{studio.slug}/s/{service['id']}" in html
    assert "90 EUR" in html and "Oranienstraße 1, Berlin" in html
    assert "12 seats" in html and "6 seats" in html
    theme = await client.get(f"/p/{studio.slug}/theme.css")
    assert theme.status_code == 200 and "--accent: #7c3aed" in theme.text


async def test_booking_page_carries_a_link_card_and_structured_data(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    html = (await client.get(f"/p/{studio.slug}")).text
    meta = dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)">', html))
    assert meta["og:title"] == "Book Studio Lumen"
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:description"] == "Portraits &amp; &lt;b&gt;light&lt;/b&gt; in Kreuzberg."
    image = urlsplit(meta["og:image"])
    assert image.scheme in ("http", "https") and image.path == f"/p/{studio.slug}/card.png"
    assert meta["twitter:image"] == meta["og:image"]
    card = await client.get(f"{image.path}?{image.query}")
    assert card.status_code == 200 and card.headers["content-type"] == "image/png"
    assert card.content.startswith(b"\x89PNG") and "max-age" in card.headers["cache-control"]
    ld = re.search(r'<script type="application/ld\+json">(.+?)</script>', html, re.S)
    assert ld
    data = json.loads(ld.group(1))
    assert data["@type"] == "LocalBusiness" and data["name"] == "Studio Lumen"
    names = {o["itemOffered"]["name"] for o in data["makesOffer"]}
    assert names == {studio.simple["name"], studio.event["name"], studio.klass["name"]}
    picker = (await client.get(f"/p/{studio.slug}/s/{studio.simple['id']}")).text
    assert '<meta property="og:title" content="Portrait session · Studio Lumen">' in picker
    assert (await client.get("/p/nobody-here/card.png")).status_code == 404


async def test_a_changed_accent_colour_is_a_new_card_address(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    def card_of(html: str) -> str:
        found = re.search(r'property="og:image" content="([^"]+)"', html)
        assert found
        return found.group(1)

    before = card_of((await client.get(f"/p/{studio.slug}")).text)
    patched = await client.patch(
        f"/api/v1/providers/{studio.provider['id']}",
        headers=admin_headers,
        json={"booking_page": {"accent_color": "#b45309"}},
    )
    assert patched.status_code == 200, patched.text
    after = card_of((await client.get(f"/p/{studio.slug}")).text)
    assert before != after


async def test_unknown_provider_is_a_friendly_404_page(client: httpx.AsyncClient) -> None:
    for path in ("/p/nobody-here", "/p/NOT_A_SLUG", "/p/nobody-here/s/not-a-uuid"):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert "Page not found" in page.text


async def test_suspended_provider_page_is_404(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    patched = await client.patch(
        f"/api/v1/providers/{studio.provider['id']}",
        headers=admin_headers,
        json={"suspended": True},
    )
    assert patched.status_code == 200, patched.text
    page = await client.get(f"/p/{studio.slug}")
    assert page.status_code == 404 and "Page not found" in page.text


async def test_unknown_service_of_a_known_provider_is_404(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    page = await client.get(f"/p/{studio.slug}/s/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 404 and "Page not found" in page.text


# --- picking a time ----------------------------------------------------------------


async def test_picker_shows_free_slots_in_the_customers_zone(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    first = tomorrow(NEW_YORK)
    slots = await free_slots(client, studio.simple["id"], NEW_YORK, first)
    assert slots
    page = await client.get(
        f"/p/{studio.slug}/s/{studio.simple['id']}",
        params={"tz": NEW_YORK, "from": first.isoformat()},
    )
    assert page.status_code == 200
    html = page.text
    assert "New York" in html
    start = datetime.fromisoformat(slots[0]["start"])
    local = start.astimezone(ZoneInfo(NEW_YORK))
    # the instant is the one listing offered, and the label is its New York wall time
    button = re.search(rf'data-start="{re.escape(start.isoformat())}"[^>]*>([0-9:]+)', html)
    assert button, "first free slot missing from the page"
    assert button.group(1) == local.strftime("%H:%M")
    assert f"{local:%A}, {local.day} {local:%B %Y}" in html
    assert 'rel="next"' in html


async def test_picker_ignores_an_unknown_zone_and_uses_the_providers(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    page = await client.get(
        f"/p/{studio.slug}/s/{studio.simple['id']}", params={"tz": "Mars/Olympus_Mons"}
    )
    assert page.status_code == 200
    assert "Times in <strong>Berlin</strong>" in page.text


async def test_event_and_class_pickers_show_seats_left(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    event = await client.get(f"/p/{studio.slug}/s/{studio.event['id']}", params={"tz": ZONE})
    assert event.status_code == 200
    assert "12 seats left" in event.text
    klass = await client.get(f"/p/{studio.slug}/s/{studio.klass['id']}", params={"tz": ZONE})
    assert klass.status_code == 200
    assert "6 seats left" in klass.text


async def test_picker_is_a_month_with_free_days_marked_and_one_days_times(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    service = studio.simple["id"]
    day = tomorrow(NEW_YORK)
    page = await client.get(
        f"/p/{studio.slug}/s/{service}", params={"tz": NEW_YORK, "day": day.isoformat()}
    )
    assert page.status_code == 200
    html = page.text
    assert f"{day:%B %Y}" in html and '<table class="calendar">' in html
    wanted = await free_slots(client, service, NEW_YORK, day, days=1)
    shown = re.findall(r'class="slot" data-start="([^"]+)"', html)
    assert shown == [s["start"] for s in wanted]  # that day's times, and only them
    assert f'aria-current="date">{day.day}</a>' in html
    assert f"{len(wanted)} free times" in html
    # every free day of the shown month links to itself
    marked = re.findall(r'day=(\d{4}-\d{2}-\d{2})" aria-label="[^"]+, (\d+) free time', html)
    assert marked and all(date.fromisoformat(d).month == day.month for d, _ in marked)


async def test_a_month_without_free_time_offers_the_next_free_day(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    later = (today.replace(day=1) + timedelta(days=40)).replace(day=11)  # a later month
    put = await client.put(
        f"/api/v1/providers/{studio.provider['id']}/availability",
        headers=admin_headers,
        json={
            "weekly": [],
            "overrides": [
                {"date": later.isoformat(), "intervals": [{"start": "10:00", "end": "12:00"}]}
            ],
        },
    )
    assert put.status_code == 200, put.text
    url = f"/p/{studio.slug}/s/{studio.simple['id']}"
    page = await client.get(url, params={"tz": ZONE})
    assert page.status_code == 200
    assert f"No free times in {today:%B %Y}" in page.text
    assert 'class="slot"' not in page.text
    link = re.search(r'class="next-free" href="([^"]+)">([^<]+)<', page.text)
    assert link, page.text
    assert link.group(2) == f"{later:%A}, {later.day} {later:%B %Y}"
    followed = await client.get(link.group(1).replace("&amp;", "&"))
    assert followed.status_code == 200
    assert len(re.findall(r'class="slot"', followed.text)) == 2  # 10:00 and 11:00


async def test_odd_month_and_day_parameters_still_show_a_page(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    url = f"/p/{studio.slug}/s/{studio.simple['id']}"
    for params in (
        {"month": "2026-13"},
        {"month": "1999-01"},
        {"month": "9999-12"},
        {"day": "2026-02-30"},
        {"day": "x\x00y", "month": "\x00"},
        {"month": "9" * 5000},
        {"tz": "Europe/Berlin\x00", "day": "0001-01-01"},
    ):
        page = await client.get(url, params=params)
        assert page.status_code == 200, (params, page.status_code)
        assert '<table class="calendar">' in page.text


async def test_the_visitor_can_change_the_time_zone_without_javascript(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    page = await client.get(f"/p/{studio.slug}/s/{studio.simple['id']}", params={"tz": ZONE})
    form = re.search(r'<form class="zone-form" method="get" action="([^"]+)">', page.text)
    assert form and "<option selected>Europe/Berlin</option>" in page.text
    assert "<option>Asia/Tokyo</option>" in page.text
    day = re.search(r'name="day" value="([^"]+)"', page.text)
    assert day
    tokyo = await client.get(form.group(1), params={"tz": "Asia/Tokyo", "day": day.group(1)})
    assert "Times in <strong>Tokyo</strong>" in tokyo.text
    assert "<option selected>Asia/Tokyo</option>" in tokyo.text


# --- booking -----------------------------------------------------------------------


async def test_booking_confirms_in_the_customers_zone_and_removes_the_slot(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    first = tomorrow(NEW_YORK)
    slot = (await free_slots(client, studio.simple["id"], NEW_YORK, first))[0]
    form = form_of(await open_form(client, studio, slot["start"], NEW_YORK))
    posted = await client.post(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book", data={**form, **CUSTOMER}
    )
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    assert location.startswith(f"/p/{studio.slug}/manage/")
    confirmation = await client.get(location)
    assert confirmation.status_code == 200
    html = confirmation.text
    local = datetime.fromisoformat(slot["start"]).astimezone(ZoneInfo(NEW_YORK))
    assert "You&#39;re booked!" in html or "You're booked!" in html
    assert f"{local:%H:%M}" in html and "New York" in html
    ics_link = re.search(r'href="([^"]*booking\.ics[^"]*)"', html)
    assert ics_link
    ics = await client.get(ics_link.group(1).replace("&amp;", "&"))
    assert ics.status_code == 200 and "BEGIN:VCALENDAR" in ics.text
    google = re.search(r'href="(https://calendar\.google\.com/[^"]+)"', html)
    outlook = re.search(r'href="(https://outlook\.live\.com/[^"]+)"', html)
    assert google and outlook
    utc = datetime.fromisoformat(slot["start"]).astimezone(UTC)
    assert f"dates={utc:%Y%m%dT%H%M%SZ}%2F" in google.group(1)
    assert f"startdt={utc:%Y-%m-%dT%H%%3A%M%%3A%SZ}" in outlook.group(1)
    for link in (google.group(1), outlook.group(1)):
        assert "manage" not in link and "token" not in link  # the manage link stays ours
    remaining = await free_slots(client, studio.simple["id"], NEW_YORK, first)
    assert slot["start"] not in [s["start"] for s in remaining]


async def test_double_submit_books_once(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    slot = (await free_slots(client, studio.simple["id"], ZONE, tomorrow(ZONE)))[0]
    form = form_of(await open_form(client, studio, slot["start"], ZONE))
    url = f"/p/{studio.slug}/s/{studio.simple['id']}/book"
    first = await client.post(url, data={**form, **CUSTOMER})
    second = await client.post(url, data={**form, **CUSTOMER})
    assert first.status_code == second.status_code == 303
    assert urlsplit(first.headers["location"]).path == urlsplit(second.headers["location"]).path
    listed = await client.get(
        f"/api/v1/providers/{studio.provider['id']}/bookings", headers=admin_headers
    )
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 1


async def test_simultaneous_double_submit_books_once(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    slot = (await free_slots(client, studio.simple["id"], ZONE, tomorrow(ZONE)))[0]
    form = form_of(await open_form(client, studio, slot["start"], ZONE))
    url = f"/p/{studio.slug}/s/{studio.simple['id']}/book"
    answers = await asyncio.gather(*(client.post(url, data={**form, **CUSTOMER}) for _ in range(3)))
    assert [a.status_code for a in answers] == [303, 303, 303]
    assert len({urlsplit(a.headers["location"]).path for a in answers}) == 1
    listed = await client.get(
        f"/api/v1/providers/{studio.provider['id']}/bookings", headers=admin_headers
    )
    assert len(listed.json()["items"]) == 1


async def test_resubmitting_an_edited_form_is_a_new_request_not_a_key_clash(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    """Back button, change the name, submit again: the first booking holds the slot."""
    slot = (await free_slots(client, studio.simple["id"], ZONE, tomorrow(ZONE)))[0]
    form = form_of(await open_form(client, studio, slot["start"], ZONE))
    url = f"/p/{studio.slug}/s/{studio.simple['id']}/book"
    assert (await client.post(url, data={**form, **CUSTOMER})).status_code == 303
    again = await client.post(url, data={**form, **CUSTOMER, "name": "Ada King"})
    assert again.status_code == 409 and "just taken" in again.text
    listed = await client.get(
        f"/api/v1/providers/{studio.provider['id']}/bookings", headers=admin_headers
    )
    assert [b["customer"]["name"] for b in listed.json()["items"]] == ["Ada Lovelace"]


async def test_taken_slot_rerenders_the_picker_with_a_message(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    slot = (await free_slots(client, studio.simple["id"], ZONE, tomorrow(ZONE)))[0]
    form = form_of(await open_form(client, studio, slot["start"], ZONE))
    taken = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": studio.simple["id"],
            "start": slot["start"],
            "customer": {"name": "Quick Bob", "email": "bob@example.com"},
        },
    )
    assert taken.status_code == 201, taken.text
    page = await client.post(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book", data={**form, **CUSTOMER}
    )
    assert page.status_code == 409
    assert "just taken" in page.text
    assert f'data-start="{slot["start"]}"' not in page.text
    assert "data-start=" in page.text  # other times are offered right away


async def test_missing_name_rerenders_the_form_with_field_messages(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    slot = (await free_slots(client, studio.simple["id"], ZONE, tomorrow(ZONE)))[0]
    form = form_of(await open_form(client, studio, slot["start"], ZONE))
    page = await client.post(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book",
        data={**form, **CUSTOMER, "name": " ", "notes": "first visit <3"},
    )
    assert page.status_code == 422
    assert "Please enter your name." in page.text
    assert 'aria-invalid="true"' in page.text
    assert "first visit &lt;3" in page.text  # what was typed is kept (and escaped)


async def test_invalid_email_and_phone_show_the_bookings_services_messages(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    slot = (await free_slots(client, studio.simple["id"], ZONE, tomorrow(ZONE)))[0]
    form = form_of(await open_form(client, studio, slot["start"], ZONE))
    page = await client.post(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book",
        data={**form, **CUSTOMER, "email": "not-an-address", "phone": "12"},
    )
    assert page.status_code == 422
    assert 'id="e-email"' in page.text and 'id="e-phone"' in page.text
    assert 'value="not-an-address"' in page.text
    listed = await client.get(
        f"/api/v1/providers/{studio.provider['id']}/bookings", headers=admin_headers
    )
    assert listed.json()["items"] == []


async def test_unbookable_start_returns_to_the_picker(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    odd = datetime.combine(tomorrow(ZONE), datetime.min.time(), ZoneInfo(ZONE)).replace(
        hour=3, minute=7
    )
    form = form_of(await open_form(client, studio, odd.isoformat(), ZONE))
    page = await client.post(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book", data={**form, **CUSTOMER}
    )
    assert page.status_code == 422
    assert "cannot be booked" in page.text and "data-start=" in page.text


async def test_booking_two_seats_of_a_class_leaves_fewer_seats(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    klass = studio.klass["id"]
    slot = (await free_slots(client, klass, ZONE, tomorrow(ZONE)))[0]
    assert slot["seats_left"] == 6
    form = await client.get(
        f"/p/{studio.slug}/s/{klass}/book",
        params={"start": slot["start"], "tz": ZONE, "seats_left": slot["seats_left"]},
    )
    assert form.status_code == 200 and '<option value="6"' in form.text
    posted = await client.post(
        f"/p/{studio.slug}/s/{klass}/book",
        data={**form_of(form.text), **CUSTOMER, "seats": "2"},
    )
    assert posted.status_code == 303, posted.text
    confirmation = await client.get(posted.headers["location"])
    assert "Evening photo walk · 2 seats" in confirmation.text
    picker = await client.get(
        f"/p/{studio.slug}/s/{klass}", params={"tz": ZONE, "from": tomorrow(ZONE).isoformat()}
    )
    assert "4 seats left" in picker.text, re.findall(r"\d+ seats? left", picker.text)


# --- managing a booking ------------------------------------------------------------


async def book_via_page(client: httpx.AsyncClient, studio: Studio, slot: dict[str, str]) -> str:
    form = form_of(await open_form(client, studio, slot["start"], NEW_YORK))
    posted = await client.post(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book", data={**form, **CUSTOMER}
    )
    assert posted.status_code == 303
    return str(posted.headers["location"])


async def test_manage_link_with_a_wrong_token_is_404(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    slot = (await free_slots(client, studio.simple["id"], NEW_YORK, tomorrow(NEW_YORK)))[0]
    path = urlsplit(await book_via_page(client, studio, slot)).path
    client.cookies.clear()  # another browser, holding the link only
    for query in ("", "?token=wrong-token"):
        page = await client.get(path + query)
        assert page.status_code == 404 and "Page not found" in page.text


async def test_customer_cancels_with_a_reason_and_the_time_is_free_again(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    first = tomorrow(NEW_YORK)
    slot = (await free_slots(client, studio.simple["id"], NEW_YORK, first))[0]
    location = await book_via_page(client, studio, slot)
    parts = urlsplit(location)
    cancelled = await client.post(parts.path + "/cancel", data={"tz": NEW_YORK, "reason": "ill"})
    assert cancelled.status_code == 303
    page = await client.get(cancelled.headers["location"])
    assert page.status_code == 200
    assert "Booking cancelled" in page.text and "Cancelled" in page.text
    remaining = await free_slots(client, studio.simple["id"], NEW_YORK, first)
    assert slot["start"] in [s["start"] for s in remaining]


async def test_cancelling_inside_the_notice_period_explains_why_not(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    strict = await client.post(
        f"/api/v1/providers/{studio.provider['id']}/services",
        headers=admin_headers,
        json={
            "name": "Wedding shoot",
            "kind": "simple",
            "duration_minutes": 60,
            "cancellation_notice_minutes": 60 * 24 * 30,
        },
    )
    assert strict.status_code == 201, strict.text
    service_id = strict.json()["id"]
    slot = (await free_slots(client, service_id, ZONE, tomorrow(ZONE)))[0]
    form = await client.get(
        f"/p/{studio.slug}/s/{service_id}/book", params={"start": slot["start"], "tz": ZONE}
    )
    posted = await client.post(
        f"/p/{studio.slug}/s/{service_id}/book", data={**form_of(form.text), **CUSTOMER}
    )
    assert posted.status_code == 303, posted.text
    parts = urlsplit(posted.headers["location"])
    refused = await client.post(parts.path + "/cancel", data={"tz": ZONE})
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text and "Confirmed" in refused.text


async def test_customer_reschedules_to_another_free_slot(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    first = tomorrow(NEW_YORK)
    slots = await free_slots(client, studio.simple["id"], NEW_YORK, first)
    location = await book_via_page(client, studio, slots[0])
    parts = urlsplit(location)
    # the day asked for: without it the picker opens on the first day with free times,
    # which is today until the evening
    picker = await client.get(
        parts.path + "/reschedule", params={"tz": NEW_YORK, "day": first.isoformat()}
    )
    assert picker.status_code == 200 and "Move your booking" in picker.text
    target = slots[3]["start"]
    assert f'data-start="{target}"' in picker.text
    moved = await client.post(parts.path + "/reschedule", data={"tz": NEW_YORK, "start": target})
    assert moved.status_code == 303, moved.text
    page = await client.get(moved.headers["location"])
    local = datetime.fromisoformat(target).astimezone(ZoneInfo(NEW_YORK))
    assert "Booking moved" in page.text and f"{local:%H:%M}" in page.text


async def test_rescheduling_onto_a_taken_slot_keeps_the_booking_and_says_so(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    slots = await free_slots(client, studio.simple["id"], NEW_YORK, tomorrow(NEW_YORK))
    mine = urlsplit(await book_via_page(client, studio, slots[0]))
    await book_via_page(client, studio, slots[1])
    page = await client.post(
        mine.path + "/reschedule", data={"tz": NEW_YORK, "start": slots[1]["start"]}
    )
    assert page.status_code == 409 and "just taken" in page.text
    still = await client.get(mine.path, params={"tz": NEW_YORK})
    local = datetime.fromisoformat(slots[0]["start"]).astimezone(ZoneInfo(NEW_YORK))
    assert f"{local:%H:%M}" in still.text


# --- console and static assets ------------------------------------------------------


async def test_console_is_an_installable_shell(client: httpx.AsyncClient) -> None:
    assert (await client.get("/console")).headers["location"] == "/console/sign-in"
    page = await client.get("/console/sign-in")
    assert page.status_code == 200
    assert 'rel="manifest" href="/console/manifest.webmanifest"' in page.text
    manifest = await client.get("/console/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["start_url"] == "/console" and body["display"] == "standalone"
    for icon in body["icons"]:
        svg = await client.get(icon["src"])
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    worker = await client.get("/console/sw.js")
    assert worker.status_code == 200
    assert worker.headers["service-worker-allowed"] == "/console"
    script = await client.get("/static/console.js")
    assert script.status_code == 200 and 'serviceWorker.register("/console/sw.js"' in script.text


async def test_static_assets_are_served_and_nothing_outside_them(
    client: httpx.AsyncClient,
) -> None:
    css = await client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@import" not in css.text and "http" not in css.text  # nothing fetched elsewhere
    for path in ("/static/../api.py", "/static/%2e%2e/api.py", "/static/nope.css"):
        assert (await client.get(path)).status_code == 404, path


async def test_unreachable_services_give_a_503_page_not_a_500(settings: Settings) -> None:
    """``calisera serve web`` alone, with the other services down."""
    from calisera.assembly import build_app
    from tests.e2e.processes import free_port

    down = f"http://127.0.0.1:{free_port()}"
    app = build_app(
        settings.with_changes(providers_url=down, listing_url=down, bookings_url=down), ["web"]
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as web,
    ):
        page = await web.get("/p/studio-lumen")
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "Try again in a moment" in page.text
        # no users service in this process: nobody can sign in, the console says so
        console = await web.get("/console/sign-in")
        assert console.status_code == 503 and "Try again in a moment" in console.text


async def test_a_request_says_it_awaits_the_provider_and_can_be_withdrawn(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    r = await client.patch(
        f"/api/v1/providers/{studio.provider['id']}/services/{studio.simple['id']}",
        json={"requires_confirmation": True},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    first = tomorrow(NEW_YORK)
    slot = (await free_slots(client, studio.simple["id"], NEW_YORK, first))[0]
    form = form_of(await open_form(client, studio, slot["start"], NEW_YORK))
    posted = await client.post(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book", data={**form, **CUSTOMER}
    )
    assert posted.status_code == 303, posted.text
    page = await client.get(posted.headers["location"])
    assert "Request sent" in page.text and "booked!" not in page.text
    assert "Pending" in page.text and "Withdraw request" in page.text
    assert "booking.ics" not in page.text
    remaining = await free_slots(client, studio.simple["id"], NEW_YORK, first)
    assert slot["start"] not in [s["start"] for s in remaining]
    booking_id = posted.headers["location"].split("/manage/")[1].split("?")[0]
    withdrawn = await client.post(
        f"/p/{studio.slug}/manage/{booking_id}/cancel", data={"tz": NEW_YORK}
    )
    assert withdrawn.status_code == 303, withdrawn.text
    after = await client.get(withdrawn.headers["location"])
    assert "Cancelled" in after.text
    remaining = await free_slots(client, studio.simple["id"], NEW_YORK, first)
    assert slot["start"] in [s["start"] for s in remaining]
