"""The booking page asks the service's questions, shows the bookings service's field
errors beside them, and the manage page shows what was answered."""

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
    studio = await open_studio(client, admin_headers)
    r = await client.patch(
        f"/api/v1/providers/{studio.provider['id']}/services/{studio.simple['id']}",
        headers=admin_headers,
        json={
            "questions": [
                {"kind": "text", "label": "Who is the portrait of?", "required": True},
                {"kind": "single_choice", "label": "Backdrop", "options": ["White", "Black"]},
                {"kind": "multiple_choice", "label": "Prints", "options": ["A4", "A3", "A2"]},
                {"kind": "checkbox", "label": "You may publish it", "required": False},
                {"kind": "phone", "label": "Phone on the day"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    studio.simple = r.json()
    return studio


def _fields(studio: Studio) -> list[str]:
    return [f"q-{q['id']}" for q in studio.simple["questions"]]


async def _form(client: httpx.AsyncClient, studio: Studio) -> tuple[str, dict[str, str]]:
    day = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date() + timedelta(days=1)
    slot = (await free_slots(client, studio.simple["id"], ZONE, day))[0]
    page = await client.get(
        f"/p/{studio.slug}/s/{studio.simple['id']}/book",
        params={"start": slot["start"], "tz": ZONE},
    )
    assert page.status_code == 200, page.text
    hidden = {
        n: re.search(rf'name="{n}" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
        for n in ("start", "tz", "nonce")
    }
    return page.text, hidden


async def test_the_form_asks_the_services_questions(client: httpx.AsyncClient, studio: Studio):
    html, _ = await _form(client, studio)
    text, backdrop, prints, publish, phone = _fields(studio)
    assert "Who is the portrait of?" in html and f'name="{text}"' in html
    assert html.count(f'name="{backdrop}" value=') == 2 and 'type="radio"' in html
    assert html.count(f'name="{prints}" value=') == 3
    assert f'name="{publish}" value="on"' in html
    assert f'name="{phone}" type="tel"' in html


async def test_a_missing_required_answer_is_shown_beside_its_question_with_the_rest_kept(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
):
    _, hidden = await _form(client, studio)
    text, backdrop, prints, _, phone = _fields(studio)
    data: dict[str, Any] = {
        **hidden,
        **CUSTOMER,
        backdrop: "Black",
        prints: ["A4", "A2"],
        phone: "030 1234567",
    }
    page = await client.post(f"/p/{studio.slug}/s/{studio.simple['id']}/book", data=data)
    assert page.status_code == 422, page.text
    assert f'id="e-{text}"' in page.text and f'id="e-{phone}"' in page.text
    assert re.search(rf'name="{backdrop}" value="Black" checked', page.text)
    assert re.search(rf'name="{prints}" value="A2" checked', page.text)
    assert not re.search(rf'name="{prints}" value="A3" checked', page.text)
    listed = await client.get(
        f"/api/v1/providers/{studio.provider['id']}/bookings", headers=admin_headers
    )
    assert listed.json()["items"] == []


async def test_answers_are_booked_and_shown_on_the_manage_page(
    client: httpx.AsyncClient, studio: Studio, admin_headers: dict[str, str]
):
    _, hidden = await _form(client, studio)
    text, backdrop, prints, publish, phone = _fields(studio)
    data: dict[str, Any] = {
        **hidden,
        **CUSTOMER,
        text: "My grandmother",
        backdrop: "White",
        prints: ["A3"],
        publish: "on",
        phone: "+49 30 1234567",
    }
    posted = await client.post(f"/p/{studio.slug}/s/{studio.simple['id']}/book", data=data)
    assert posted.status_code == 303, posted.text
    manage = await client.get(posted.headers["location"])
    assert manage.status_code == 200
    for shown in ("My grandmother", "White", "A3", "You may publish it", "+49301234567"):
        assert shown in manage.text
    [booking] = (
        await client.get(
            f"/api/v1/providers/{studio.provider['id']}/bookings", headers=admin_headers
        )
    ).json()["items"]
    assert [a["value"] for a in booking["answers"]] == [
        "My grandmother",
        "White",
        ["A3"],
        True,
        "+49301234567",
    ]
