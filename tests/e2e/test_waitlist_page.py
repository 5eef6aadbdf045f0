"""A customer joins the waitlist of a full class and claims the freed seat through the
real pages in headless Chromium, against the whole platform served by uvicorn on a
loopback port (real services, real PostgreSQL). Skips when Debian's ``chromium`` is not
installed. Screenshots go to ``/tmp/calisera-web-waitlist-*.png``."""

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
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_customer_joins_a_full_class_and_books_the_freed_seat(
    chromium: str,  # noqa: F811
    axe: str,  # noqa: F811
    live_url: str,  # noqa: F811
    studio: Studio,  # noqa: F811
) -> None:
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    start = datetime.combine(today + timedelta(days=1), time(19), ZoneInfo(ZONE))
    async with httpx.AsyncClient(base_url=live_url, timeout=15) as http:
        r = await http.post(
            f"/api/v1/providers/{studio.provider['id']}/services",
            headers=ADMIN,
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
            },
        )
        assert r.status_code == 201, r.text
        service = r.json()
        r = await http.post(
            "/api/v1/bookings",
            json={
                "service_id": service["id"],
                "start": start.isoformat(),
                "customer": {"name": "First", "email": "first@example.com"},
            },
        )
        assert r.status_code == 201, r.text
        seated = r.json()

    problems: list[str] = []
    async with phone_page(chromium, ZONE, problems) as page:
        await page.goto(
            f"{live_url}/p/{studio.slug}/s/{service['id']}?tz={ZONE}&day={start.date()}"
        )
        await page.get_by_role("heading", name="Full: join the waitlist").wait_for()
        await page.screenshot(path="/tmp/calisera-web-waitlist-picker.png", full_page=True)
        await page.get_by_role("link", name=re.compile("join the waitlist$")).first.click()

        await page.get_by_role("heading", name="Join the waitlist").wait_for()
        assert await blocking_violations(page, axe) == []
        await page.get_by_label("Your name").fill("Ada Lovelace")
        await page.get_by_label("E-mail").fill("ada@example.com")
        await page.get_by_role("button", name="Join the waitlist").click()
        await page.get_by_role("heading", name="You're on the waitlist").wait_for()
        assert await page.locator(".waitlist-position").inner_text() == "1"
        await page.screenshot(path="/tmp/calisera-web-waitlist-joined.png", full_page=True)

        async with httpx.AsyncClient(base_url=live_url, timeout=15) as http:
            r = await http.post(
                f"/api/v1/bookings/{seated['id']}/cancel",
                headers={"X-Manage-Token": seated["manage_token"]},
            )
            assert r.status_code == 200, r.text
        await page.reload()
        await page.get_by_role("heading", name="A seat is yours to book").wait_for()
        assert await blocking_violations(page, axe) == []
        await page.screenshot(path="/tmp/calisera-web-waitlist-offer.png", full_page=True)
        await page.get_by_role("button", name="Book my seat").click()
        await page.get_by_role("heading", name="You're booked!").wait_for()
        assert "Small group" in await page.content()
        assert "/manage/" in page.url
    assert problems == []
    async with httpx.AsyncClient(base_url=live_url, timeout=15) as http:
        r = await http.get(
            f"/api/v1/providers/{studio.provider['id']}/bookings",
            params={"service_id": service["id"], "status": "confirmed"},
            headers=ADMIN,
        )
        assert [b["customer"]["email"] for b in r.json()["items"]] == ["ada@example.com"]
