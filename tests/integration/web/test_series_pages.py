"""The booking page books a class for several weeks (a series); the manage page lists
the series' classes, cancels one or the rest, and says why an all-or-nothing series
booked nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.web.studio import ZONE, Studio, open_studio

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "seats": "1"}
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@pytest.fixture
async def weekly(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> tuple[Studio, dict[str, Any], datetime]:
    """The studio with a weekly class of two places, on tomorrow's weekday at 18:30."""
    studio = await open_studio(client, admin_headers)
    first_day = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date() + timedelta(days=1)
    r = await client.post(
        f"/api/v1/providers/{studio.provider['id']}/services",
        headers=admin_headers,
        json={
            "name": "Life drawing",
            "kind": "class",
            "duration_minutes": 90,
            "capacity": 2,
            "recurrence": {
                "rrule": f"FREQ=WEEKLY;BYDAY={WEEKDAYS[first_day.weekday()]}",
                "start_time": "18:30",
                "starts_on": first_day.isoformat(),
            },
        },
    )
    assert r.status_code == 201, r.text
    first = datetime.combine(first_day, time(18, 30), ZoneInfo(ZONE)).astimezone(UTC)
    return studio, r.json(), first


async def _post_form(
    client: httpx.AsyncClient,
    studio: Studio,
    service: dict[str, Any],
    start: datetime,
    **extra: Any,
) -> httpx.Response:
    form = await client.get(
        f"/p/{studio.slug}/s/{service['id']}/book",
        params={"start": start.isoformat(), "tz": ZONE},
    )
    assert form.status_code == 200, form.text
    assert 'name="weeks"' in form.text and "This class only" in form.text
    nonce = re.search(r'name="nonce" value="([^"]*)"', form.text).group(1)  # type: ignore[union-attr]
    data = {"start": start.isoformat(), "tz": ZONE, "nonce": nonce, **CUSTOMER, **extra}
    return await client.post(f"/p/{studio.slug}/s/{service['id']}/book", data=data)


async def _fill(client: httpx.AsyncClient, service: dict[str, Any], start: datetime, n: int):
    for i in range(n):
        r = await client.post(
            "/api/v1/bookings",
            json={
                "service_id": service["id"],
                "start": start.isoformat(),
                "customer": {"name": f"Other {i}", "email": f"other{i}@example.com"},
            },
        )
        assert r.status_code == 201, r.text


async def test_a_class_booked_for_four_weeks_lists_them_and_cancels_one_or_the_rest(
    client: httpx.AsyncClient, weekly: tuple[Studio, dict[str, Any], datetime]
):
    studio, service, first = weekly
    posted = await _post_form(client, studio, service, first, weeks="4")
    assert posted.status_code == 303, posted.text
    manage_url = posted.headers["location"]
    page = await client.get(manage_url)
    assert page.status_code == 200, page.text
    assert "You're booked for 4 classes!" in page.text
    assert page.text.count('class="series-class ') == 4
    ids = re.findall(r'name="occurrence" value="([0-9a-f-]{36})"', page.text)
    assert len(ids) == 4
    path = urlpath(manage_url)
    # cancel the third week from the first booking's page
    one = await client.post(f"{path}/cancel", data={"tz": ZONE, "occurrence": ids[2]})
    assert one.status_code == 303, one.text
    page = await client.get(path)
    assert page.text.count("series-class status-cancelled") == 1
    assert "Cancel this and every later class (3)" in page.text
    rest = await client.post(f"{path}/cancel", data={"tz": ZONE, "scope": "rest"})
    assert rest.status_code == 303, rest.text
    page = await client.get(path)
    assert page.text.count("series-class status-cancelled") == 4


async def test_a_full_week_stops_the_series_unless_the_customer_skips_it(
    client: httpx.AsyncClient, weekly: tuple[Studio, dict[str, Any], datetime]
):
    studio, service, first = weekly
    second_week = first + timedelta(weeks=1)
    await _fill(client, service, second_week, 2)
    refused = await _post_form(client, studio, service, first, weeks="4")
    assert refused.status_code == 409, refused.text
    day = second_week.astimezone(ZoneInfo(ZONE))
    assert f"the class on {day:%A}, {day.day} {day:%B %Y} is full" in refused.text
    assert "nothing was booked" in refused.text
    skipped = await _post_form(client, studio, service, first, weeks="4", skip_full="on")
    assert skipped.status_code == 303, skipped.text
    page = await client.get(skipped.headers["location"])
    assert "You're booked for 3 classes!" in page.text
    assert "1 class was full and is not booked." in page.text


async def test_another_bookings_class_cannot_be_cancelled_through_this_page(
    client: httpx.AsyncClient, weekly: tuple[Studio, dict[str, Any], datetime]
):
    studio, service, first = weekly
    mine = await _post_form(client, studio, service, first, weeks="2")
    path = urlpath(mine.headers["location"])
    other = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": service["id"],
            "start": (first + timedelta(weeks=2)).isoformat(),
            "customer": {"name": "Someone", "email": "someone@example.com"},
        },
    )
    r = await client.post(f"{path}/cancel", data={"tz": ZONE, "occurrence": other.json()["id"]})
    assert r.status_code == 404, r.text
    status = await client.get(
        f"/api/v1/bookings/{other.json()['id']}",
        headers={"X-Manage-Token": other.json()["manage_token"]},
    )
    assert status.json()["status"] == "confirmed"


@pytest.mark.parametrize("weeks", ["0", "53", "x", "\u0000"])
async def test_a_bad_number_of_weeks_is_shown_beside_the_field(
    client: httpx.AsyncClient, weekly: tuple[Studio, dict[str, Any], datetime], weeks: str
):
    studio, service, first = weekly
    r = await _post_form(client, studio, service, first, weeks=weeks)
    assert r.status_code == 422, r.text
    assert 'id="e-weeks"' in r.text


def urlpath(location: str) -> str:
    return location.split("?", 1)[0]
