"""Manage links: the token an e-mail carries moves into a cookie scoped to that booking
and leaves the address, the pages and the logs (issue 13)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import structlog

from calisera.web.manage_token import COOKIE
from tests.integration.web.studio import ZONE, Studio, free_slots, open_studio
from tests.integration.web.test_booking_pages import CUSTOMER, book_via_page, tomorrow


@pytest.fixture
async def studio(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Studio:
    return await open_studio(client, admin_headers)


async def booked_by_api(client: httpx.AsyncClient, studio: Studio) -> dict[str, Any]:
    """A booking made elsewhere (an app, the API): its token reaches the customer by
    e-mail only, as ``/p/{slug}/manage/{id}?token=``."""
    slot = (await free_slots(client, studio.simple["id"], ZONE, tomorrow(ZONE)))[0]
    created = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": studio.simple["id"],
            "start": slot["start"],
            "customer": {"name": CUSTOMER["name"], "email": CUSTOMER["email"]},
        },
    )
    assert created.status_code == 201, created.text
    booking: dict[str, Any] = created.json()
    return booking


def manage_path(studio: Studio, booking: dict[str, Any]) -> str:
    return f"/p/{studio.slug}/manage/{booking['id']}"


async def test_email_link_moves_the_token_into_a_cookie_scoped_to_the_booking(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    booking = await booked_by_api(client, studio)
    token, path = booking["manage_token"], manage_path(studio, booking)

    landed = await client.get(path, params={"token": token, "tz": ZONE})

    assert landed.status_code == 303
    assert landed.headers["location"] == f"{path}?tz=Europe%2FBerlin"
    assert landed.headers["referrer-policy"] == "no-referrer"
    assert landed.headers["cache-control"] == "no-store"
    cookie = landed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={token};")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", f"path={path}".lower()} <= attributes
    page = await client.get(landed.headers["location"])
    assert page.status_code == 200 and "Your booking" in page.text
    assert token not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    ics = await client.get(f"{path}/booking.ics")
    assert ics.status_code == 200 and "BEGIN:VCALENDAR" in ics.text
    picker = await client.get(f"{path}/reschedule")
    assert picker.status_code == 200 and "Move your booking" in picker.text
    assert token not in picker.text


async def test_landing_from_another_site_continues_through_a_page_of_ours(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    """A SameSite=Strict cookie set on a navigation that a mail client started is not
    sent on the redirect that follows; a page of ours sends the browser on instead."""
    booking = await booked_by_api(client, studio)
    token, path = booking["manage_token"], manage_path(studio, booking)

    landed = await client.get(
        path, params={"token": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )

    assert landed.status_code == 200
    assert landed.headers["refresh"] == f"0; url={path}"
    assert landed.headers["set-cookie"].startswith(f"{COOKIE}={token};")
    assert token not in landed.text and f'href="{path}"' in landed.text
    assert (await client.get(path)).status_code == 200


async def test_a_wrong_token_in_the_link_is_404_and_sets_no_cookie(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    booking = await booked_by_api(client, studio)
    landed = await client.get(manage_path(studio, booking), params={"token": "wrong-token"})
    assert landed.status_code == 404 and "Page not found" in landed.text
    assert "set-cookie" not in landed.headers


async def test_the_booking_form_answers_with_a_clean_address_and_the_cookie(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    slot = (await free_slots(client, studio.simple["id"], ZONE, tomorrow(ZONE)))[0]
    location = await book_via_page(client, studio, slot)
    assert "token" not in location
    path = urlsplit(location).path
    assert [c.path for c in client.cookies.jar if c.name == COOKIE] == [path]
    page = await client.get(location)
    assert page.status_code == 200 and "re booked!" in page.text
    held = client.cookies.get(COOKIE)
    assert held and held not in page.text
    client.cookies.clear()  # the same address in another browser shows nothing
    assert (await client.get(location)).status_code == 404


async def test_a_manage_token_never_reaches_the_logs(
    client: httpx.AsyncClient, studio: Studio, caplog: pytest.LogCaptureFixture
) -> None:
    booking = await booked_by_api(client, studio)
    token, path = booking["manage_token"], manage_path(studio, booking)
    with structlog.testing.capture_logs() as events, caplog.at_level(logging.DEBUG):
        landed = await client.get(path, params={"token": token, "tz": ZONE})
        assert (await client.get(landed.headers["location"])).status_code == 200
        assert (await client.get(f"{path}/booking.ics")).status_code == 200
        cancelled = await client.post(f"{path}/cancel", data={"tz": ZONE})
        assert cancelled.status_code == 303
    # the access log saw these requests (so it could have leaked), by path only
    logged_paths = [e.get("path") for e in events if e.get("event") == "request"]
    assert path in logged_paths and f"{path}/cancel" in logged_paths
    assert token not in repr(events)
    ours = [r for r in caplog.records if r.name.startswith("calisera")]
    assert all(token not in r.getMessage() and token not in repr(r.__dict__) for r in ours)
