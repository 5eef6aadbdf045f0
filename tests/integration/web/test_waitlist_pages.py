"""The waitlist on the booking page (real services, real PostgreSQL): a full occurrence
offers "Join the waitlist", the entry's page keeps its token in a cookie scoped to it,
a freed seat shows up there as an offer that one button books, and the offer e-mail's
``?token=`` link lands like a manage link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.web.studio import ZONE, Studio, open_studio


@pytest.fixture
async def studio(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Studio:
    return await open_studio(client, admin_headers, slug="studio-waitlist")


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def full_class(client, studio, admin_headers, **fields):
    """A one-seat class whose tomorrow's occurrence is booked; (service, start, booking)."""
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    r = await client.post(
        f"/api/v1/providers/{studio.provider['id']}/services",
        headers=admin_headers,
        json={
            "name": "Small group",
            "kind": "class",
            "duration_minutes": 60,
            "capacity": 1,
            "recurrence": {
                "rrule": "FREQ=DAILY",
                "start_time": "19:00",
                "starts_on": today.isoformat(),
            },
            **fields,
        },
    )
    assert r.status_code == 201, r.text
    service = r.json()
    start = datetime.combine(today + timedelta(days=1), time(19), ZoneInfo(ZONE))
    r = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": service["id"],
            "start": start.isoformat(),
            "customer": {"name": "First", "email": "first@example.com"},
        },
    )
    assert r.status_code == 201, r.text
    return service, start, r.json()


async def join_via_page(client, studio, service, start) -> str:
    form = await client.get(
        f"/p/{studio.slug}/s/{service['id']}/waitlist",
        params={"start": start.isoformat(), "tz": ZONE},
    )
    assert form.status_code == 200 and "Join the waitlist" in form.text
    posted = await client.post(
        f"/p/{studio.slug}/s/{service['id']}/waitlist",
        data={
            "start": hidden(form.text, "start"),
            "tz": ZONE,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "",
            "seats": "1",
        },
    )
    assert posted.status_code == 303, posted.text
    return str(posted.headers["location"])


async def test_join_from_the_picker_then_claim_the_freed_seat(
    client: httpx.AsyncClient, studio: Studio, admin_headers
) -> None:
    service, start, booked = await full_class(client, studio, admin_headers)
    picker = await client.get(
        f"/p/{studio.slug}/s/{service['id']}", params={"tz": ZONE, "day": start.date().isoformat()}
    )
    assert picker.status_code == 200
    assert "Full: join the waitlist" in picker.text
    [link] = re.findall(r'href="(/p/[^"]*/waitlist\?[^"]*)"', picker.text)
    assert start.astimezone(UTC).isoformat()[:16] in link.replace("%3A", ":")

    location = await join_via_page(client, studio, service, start)
    assert re.fullmatch(rf"/p/{studio.slug}/waitlist/[0-9a-f-]+\?tz=.*&joined=1", location)
    entry_page = await client.get(location)
    assert (
        "on the waitlist" in entry_page.text and 'class="waitlist-position">1<' in entry_page.text
    )
    path = location.split("?")[0]

    again = await client.post(
        f"/p/{studio.slug}/s/{service['id']}/waitlist",
        data={
            "start": start.isoformat(),
            "tz": ZONE,
            "name": "Ada",
            "email": "ada@example.com",
            "seats": "1",
        },
    )
    assert again.status_code == 409 and "already on the waitlist" in again.text

    r = await client.post(
        f"/api/v1/bookings/{booked['id']}/cancel",
        headers={"X-Manage-Token": booked["manage_token"]},
    )
    assert r.status_code == 200
    offer = await client.get(path)
    assert "A seat is yours to book" in offer.text and "offer-deadline" in offer.text
    claimed = await client.post(
        f"{path}/claim", data={"tz": ZONE, "nonce": hidden(offer.text, "nonce")}
    )
    assert claimed.status_code == 303, claimed.text
    assert claimed.headers["location"].startswith(f"/p/{studio.slug}/manage/")
    manage = await client.get(claimed.headers["location"])
    assert "You&#39;re booked!" in manage.text or "You're booked!" in manage.text
    twice = await client.post(
        f"{path}/claim", data={"tz": ZONE, "nonce": hidden(offer.text, "nonce")}
    )
    assert twice.status_code in (303, 409)  # the same form again: its first answer, or refused
    done = await client.get(path)
    assert "Booked from the waitlist" in done.text


async def test_the_offer_links_token_lands_in_a_cookie_and_leaving_hands_the_seat_on(
    client: httpx.AsyncClient, studio: Studio, admin_headers, app
) -> None:
    service, start, booked = await full_class(client, studio, admin_headers)
    r = await client.post(
        "/api/v1/waitlist",
        json={
            "service_id": service["id"],
            "start": start.isoformat(),
            "customer": {"name": "Grace", "email": "grace@example.com"},
        },
    )
    entry = r.json()
    second = await join_via_page(client, studio, service, start)
    path = f"/p/{studio.slug}/waitlist/{entry['id']}"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as other:
        assert (await other.get(path)).status_code == 404  # no token, nothing
        assert (await other.get(path, params={"token": "wrong"})).status_code == 404
        landed = await other.get(path, params={"token": entry["token"]})
        assert landed.status_code == 303 and landed.headers["location"] == path
        page = await other.get(path)
        assert page.status_code == 200 and 'class="waitlist-position">1<' in page.text
        await client.post(
            f"/api/v1/bookings/{booked['id']}/cancel",
            headers={"X-Manage-Token": booked["manage_token"]},
        )
        assert "A seat is yours to book" in (await other.get(path)).text
        left = await other.post(f"{path}/leave", data={"tz": ZONE})
        assert left.status_code == 200 and "You left the waitlist" in left.text
    assert "A seat is yours to book" in (await client.get(second.split("?")[0])).text
