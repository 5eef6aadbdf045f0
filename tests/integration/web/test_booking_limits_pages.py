"""The booking page and the manage page with the service's limits: a reached limit is
explained on the picker, and the manage page says until when the booking can be
cancelled or moved (and offers only what is still possible)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.web.studio import ZONE, Studio, free_slots, open_studio

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "seats": "1"}


@pytest.fixture
async def studio(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Studio:
    return await open_studio(client, admin_headers)


async def _limit(
    client: httpx.AsyncClient, studio: Studio, admin: dict[str, str], **fields: Any
) -> None:
    r = await client.patch(
        f"/api/v1/providers/{studio.provider['id']}/services/{studio.simple['id']}",
        headers=admin,
        json=fields,
    )
    assert r.status_code == 200, r.text


async def _book(client: httpx.AsyncClient, studio: Studio, slot: dict[str, Any]) -> httpx.Response:
    page = await client.get(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book",
        params={"start": slot["start"], "tz": ZONE},
    )
    hidden = {
        n: re.search(rf'name="{n}" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
        for n in ("start", "tz", "nonce")
    }
    return await client.post(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book", data={**hidden, **CUSTOMER}
    )


def _day_after_tomorrow() -> Any:
    return datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date() + timedelta(days=2)


async def test_the_manage_page_says_until_when_to_cancel_and_move(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    await _limit(
        client,
        studio,
        admin_headers,
        cancellation_notice_minutes=60,
        reschedule_notice_minutes=60 * 24 * 30,
    )
    slot = (await free_slots(client, studio.simple["id"], ZONE, _day_after_tomorrow()))[0]
    posted = await _book(client, studio, slot)
    assert posted.status_code == 303, posted.text
    page = await client.get(posted.headers["location"])
    start = datetime.fromisoformat(slot["start"]).astimezone(ZoneInfo(ZONE))
    cancel_until = start - timedelta(minutes=60)
    assert "You can cancel until" in page.text
    assert f"{cancel_until:%H:%M}" in page.text
    assert "It is too late to change the time online; please contact Studio Lumen." in page.text
    assert "Change time" not in page.text and "Cancel booking" in page.text


async def test_a_customers_limit_is_explained_on_the_picker(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
) -> None:
    await _limit(client, studio, admin_headers, max_open_bookings_per_customer=1)
    slots = await free_slots(client, studio.simple["id"], ZONE, _day_after_tomorrow())
    assert (await _book(client, studio, slots[0])).status_code == 303
    refused = await _book(client, studio, slots[2])
    assert refused.status_code == 409, refused.text
    assert "You already have 1 upcoming booking of Portrait session" in refused.text
    assert 'role="alert"' in refused.text
