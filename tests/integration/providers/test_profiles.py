"""Provider profiles: creation, validation naming each field, slugs, PATCH, listing."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from .conftest import provider_body


async def test_admin_creates_provider_with_booking_url(client, admin_headers):
    r = await client.post(
        "/api/v1/providers",
        json=provider_body(slug="anna-coaching", bio="Coach", locale="de-DE"),
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["slug"] == "anna-coaching"
    assert body["booking_url"] == "https://book.example.test/p/anna-coaching"
    assert body["qr_code_url"] == f"https://book.example.test/api/v1/providers/{body['id']}/qr-code"
    assert r.headers["location"] == f"/api/v1/providers/{body['id']}"
    got = await client.get(f"/api/v1/providers/{body['id']}", headers=admin_headers)
    assert got.json()["locale"] == "de-DE"
    assert got.json()["owner_email"] == "owner@example.com"


async def test_signed_in_user_becomes_owner(client, auth_headers):
    headers = auth_headers("Barber@Example.com")
    r = await client.post(
        "/api/v1/providers",
        json={"slug": "the-barber", "name": "The Barber", "timezone": "America/New_York"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["owner_email"] == "barber@example.com"
    assert r.json()["owner_subject"] == "user-Barber@Example.com"
    mine = await client.get("/api/v1/providers", headers=headers)
    assert [p["slug"] for p in mine.json()["items"]] == ["the-barber"]


async def test_user_cannot_create_for_someone_else(client, auth_headers):
    r = await client.post(
        "/api/v1/providers",
        json=provider_body(owner_email="victim@example.com"),
        headers=auth_headers("me@example.com"),
    )
    assert r.status_code == 403


async def test_anonymous_cannot_create(client):
    r = await client.post("/api/v1/providers", json=provider_body())
    assert r.status_code == 401


BAD_PROVIDER_FIELDS = [
    ("slug", "ab"),
    ("slug", "x" * 64),
    ("slug", "an na"),  # upper case is not wrong: it is stored lower-case
    ("slug", "anna_coaching"),
    ("slug", "-anna"),
    ("slug", "anna-"),
    ("slug", "admin"),
    ("slug", "console"),
    ("slug", "static"),
    ("slug", "auth"),
    ("slug", "api"),
    ("name", ""),
    ("name", "x" * 201),
    ("timezone", "Mars/Olympus"),
    ("timezone", "Europe/Berlinn"),
    ("locale", "english"),
    ("bio", "x" * 5001),
    ("photo_url", "not a url"),
    ("logo_url", "ftp://example.com/logo.png"),
    ("owner_email", "not-an-email"),
    ("contact", {"email": "nope"}),
    ("contact", {"phone": "12345"}),
    ("booking_page", {"accent_color": "red"}),
    ("booking_page", {"welcome_text": "x" * 2001}),
    ("suspended", "maybe"),
    ("unknown_field", 1),
]


async def test_each_bad_provider_field_is_422_naming_it(client, admin_headers):
    # One database for all cases: each request is rejected before anything is written.
    for field, value in BAD_PROVIDER_FIELDS:
        r = await client.post(
            "/api/v1/providers", json=provider_body(**{field: value}), headers=admin_headers
        )
        assert r.status_code == 422, (field, value, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        fields = [e["field"] for e in r.json()["errors"]]
        assert any(f == field or f.startswith(f"{field}.") for f in fields), (field, fields)
    listed = await client.get("/api/v1/providers", headers=admin_headers)
    assert listed.json()["items"] == []


async def test_admin_must_name_owner(client, admin_headers):
    body = provider_body()
    del body["owner_email"]
    r = await client.post("/api/v1/providers", json=body, headers=admin_headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "owner_email"


async def test_contact_phone_stored_in_e164(client, admin_headers, create_provider):
    p = await create_provider(contact={"email": "hi@studio.example.com", "phone": "+49 30 1234567"})
    got = await client.get(f"/api/v1/providers/{p['id']}", headers=admin_headers)
    assert got.json()["contact"] == {"email": "hi@studio.example.com", "phone": "+49301234567"}


async def test_taken_slug_is_409(client, admin_headers):
    first = await client.post(
        "/api/v1/providers", json=provider_body(slug="taken"), headers=admin_headers
    )
    assert first.status_code == 201
    again = await client.post(
        "/api/v1/providers", json=provider_body(slug="taken"), headers=admin_headers
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("/slug-taken")


async def test_concurrent_creates_of_one_slug_give_one_201(app, admin_headers):
    async def create() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post(
                "/api/v1/providers", json=provider_body(slug="race-slug"), headers=admin_headers
            )
            return r.status_code

    statuses = await asyncio.gather(*(create() for _ in range(10)))
    assert sorted(statuses) == [201] + [409] * 9


async def test_patch_changes_only_sent_fields(client, admin_headers, create_provider):
    p = await create_provider(bio="Old bio", slug="patch-me")
    r = await client.patch(
        f"/api/v1/providers/{p['id']}",
        json={"name": "New name", "timezone": "Asia/Tokyo", "bio": None},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["timezone"], body["bio"], body["slug"]) == (
        "New name",
        "Asia/Tokyo",
        None,
        "patch-me",
    )
    assert body["version"] == 2


async def test_patch_slug_to_taken_is_409_and_to_free_changes_url(
    client, admin_headers, create_provider
):
    await create_provider(slug="first-one")
    p = await create_provider(slug="second-one")
    taken = await client.patch(
        f"/api/v1/providers/{p['id']}", json={"slug": "first-one"}, headers=admin_headers
    )
    assert taken.status_code == 409
    moved = await client.patch(
        f"/api/v1/providers/{p['id']}", json={"slug": "third-one"}, headers=admin_headers
    )
    assert moved.json()["booking_url"].endswith("/p/third-one")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"slug": None}, "slug"),
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"booking_page": {"accent_color": "#12345"}}, "booking_page.accent_color"),
    ],
)
async def test_bad_patch_is_422_naming_field(client, admin_headers, create_provider, body, field):
    p = await create_provider()
    r = await client.patch(f"/api/v1/providers/{p['id']}", json=body, headers=admin_headers)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]


async def test_shown_service_ids_must_belong_to_provider(client, admin_headers, create_provider):
    p = await create_provider()
    other = await create_provider()
    s = await client.post(
        f"/api/v1/providers/{other['id']}/services",
        json={"name": "Cut", "kind": "simple", "duration_minutes": 30},
        headers=admin_headers,
    )
    r = await client.patch(
        f"/api/v1/providers/{p['id']}",
        json={"booking_page": {"shown_service_ids": [s.json()["id"]]}},
        headers=admin_headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "booking_page.shown_service_ids[0]"


async def test_list_pages_with_cursor(client, admin_headers, create_provider):
    created = [(await create_provider())["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await client.get("/api/v1/providers", params=params, headers=admin_headers)
        assert r.status_code == 200
        page = r.json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created


async def test_bad_cursor_and_limit_are_422(client, admin_headers):
    r = await client.get("/api/v1/providers?cursor=garbage!", headers=admin_headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "cursor"
    r = await client.get("/api/v1/providers?limit=0", headers=admin_headers)
    assert r.json()["errors"][0]["field"] == "limit"


async def test_openapi_documents_the_providers_routes(client):
    r = await client.get("/api/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/providers/by-slug/{slug}" in paths
    assert "/api/v1/providers/{provider_id}/availability" in paths
    assert "/internal/v1/providers/services/{service_id}/schedule" in paths
