"""A customer books a weekly class for four weeks in headless Chromium (phone size),
then cancels one class and the rest from the manage page; the whole platform served by
uvicorn on a loopback port (real services, real PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.e2e.phone import phone_page
from tests.e2e.test_booking_page import (  # noqa: F401 (fixtures)
    axe,
    chromium,
    live_url,
    studio,
)
from tests.integration.web.studio import ZONE, Studio
from tests.peers.axe import blocking_violations

pytestmark = pytest.mark.timeout(180)

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


async def test_a_weekly_class_booked_for_four_weeks_then_cancelled_in_two_steps(
    chromium: str,  # noqa: F811
    axe: str,  # noqa: F811
    live_url: str,  # noqa: F811
    studio: Studio,  # noqa: F811
) -> None:
    first_day = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date() + timedelta(days=2)
    async with httpx.AsyncClient(base_url=live_url, timeout=15) as http:
        made = await http.post(
            f"/api/v1/providers/{studio.provider['id']}/services",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={
                "name": "Life drawing",
                "kind": "class",
                "duration_minutes": 90,
                "capacity": 8,
                "recurrence": {
                    "rrule": f"FREQ=WEEKLY;BYDAY={WEEKDAYS[first_day.weekday()]}",
                    "start_time": "18:30",
                    "starts_on": first_day.isoformat(),
                },
            },
        )
        assert made.status_code == 201, made.text
    service = made.json()
    first = datetime.combine(first_day, time(18, 30), ZoneInfo(ZONE))
    problems: list[str] = []
    async with phone_page(chromium, ZONE, problems) as page:
        await page.goto(
            f"{live_url}/p/{studio.slug}/s/{service['id']}/book"
            f"?start={first.isoformat().replace('+', '%2B')}&tz={ZONE}"
        )
        await page.get_by_label("Your name").fill("Grace Hopper")
        await page.get_by_label("E-mail").fill("grace@example.com")
        await page.get_by_label("Book for").select_option("4")
        found = await blocking_violations(page, axe)
        assert not found, found
        await page.screenshot(path="/tmp/calisera-web-series-form.png", full_page=True)
        await page.get_by_role("button", name=re.compile("^Book")).click()

        await page.wait_for_url(re.compile(r"/manage/"))
        await page.get_by_role("heading", name="You're booked for 4 classes!").wait_for()
        classes = page.locator(".series-class")
        assert await classes.count() == 4
        for week in range(4):
            day = first + timedelta(weeks=week)
            text = await classes.nth(week).inner_text()
            assert f"{day.day} {day:%B %Y}" in text and "18:30" in text, text
        found = await blocking_violations(page, axe)
        assert not found, found
        await page.screenshot(path="/tmp/calisera-web-series.png", full_page=True)

        await classes.nth(1).get_by_role("button", name=re.compile("^Cancel")).click()
        await page.get_by_role("heading", name="Class cancelled").wait_for()
        assert await page.locator(".series-class.status-cancelled").count() == 1
        await page.get_by_role("button", name="Cancel this and every later class (3)").click()
        await page.get_by_role("heading", name="Classes cancelled").wait_for()
        assert await page.locator(".series-class.status-cancelled").count() == 4
        await page.screenshot(path="/tmp/calisera-web-series-cancelled.png", full_page=True)
    assert problems == [], problems
