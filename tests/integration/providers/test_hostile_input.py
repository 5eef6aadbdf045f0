"""Whatever bytes a client sends in a string, the answer is a 4xx naming the field, never
a 500 (PostgreSQL refuses NUL in ``text``): every string field of every providers route."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import class_service_body, provider_body, simple_service_body

CONTROL = ["\x00", "\x01", "\x08", "\x1b", "\x7f"]
LINE_BREAKS = ["\n", "\r", "\t"]

PROVIDER_FIELDS: dict[str, Any] = {
    "slug": lambda c: {"slug": f"studio{c}x"},
    "name": lambda c: {"name": f"A{c}B"},
    "timezone": lambda c: {"timezone": f"Europe/{c}Berlin"},
    "owner_email": lambda c: {"owner_email": f"own{c}er@example.com"},
    "bio": lambda c: {"bio": f"About{c}me"},
    "photo_url": lambda c: {"photo_url": f"https://example.com/a{c}b.png"},
    "logo_url": lambda c: {"logo_url": f"https://example.com/a{c}b.png"},
    "contact.email": lambda c: {"contact": {"email": f"hi{c}@example.com"}},
    "contact.phone": lambda c: {"contact": {"phone": f"+49 30{c} 123456"}},
    "locale": lambda c: {"locale": f"d{c}e"},
    "booking_page.accent_color": lambda c: {"booking_page": {"accent_color": f"#aa{c}bbc"}},
    "booking_page.welcome_text": lambda c: {"booking_page": {"welcome_text": f"Hi{c}there"}},
}
MULTILINE_PROVIDER_FIELDS = {"bio", "booking_page.welcome_text"}

SERVICE_FIELDS: dict[str, Any] = {
    "name": lambda c: {"name": f"Hair{c}cut"},
    "description": lambda c: {"description": f"Short{c}cut"},
    "price_text": lambda c: {"price_text": f"40{c}EUR"},
    "location.in_person.address": lambda c: {
        "location": {"type": "in_person", "address": f"Main St{c} 1"}
    },
    "location.online.url": lambda c: {"location": {"type": "online", "url": f"https://x.org/{c}"}},
    "location.phone.phone": lambda c: {"location": {"type": "phone", "phone": f"+4930{c}123456"}},
}
MULTILINE_SERVICE_FIELDS = {"description", "location.in_person.address"}


def _assert_names(r: Any, field: str) -> None:
    assert r.status_code == 422, (field, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]], r.json()


@pytest.mark.parametrize("field", PROVIDER_FIELDS)
async def test_control_characters_in_provider_fields_are_422_naming_the_field(
    client, admin_headers, create_provider, field
):
    p = await create_provider()
    line_breaks = [] if field in MULTILINE_PROVIDER_FIELDS else LINE_BREAKS
    for char in CONTROL + line_breaks:
        body = provider_body(**PROVIDER_FIELDS[field](char))
        r = await client.post("/api/v1/providers", json=body, headers=admin_headers)
        _assert_names(r, field)
        r = await client.patch(
            f"/api/v1/providers/{p['id']}", json=PROVIDER_FIELDS[field](char), headers=admin_headers
        )
        _assert_names(r, field)


async def test_line_breaks_are_kept_in_multi_line_provider_fields(client, admin_headers):
    body = provider_body(bio="Line one\nLine two\tend", booking_page={"welcome_text": "a\r\nb"})
    r = await client.post("/api/v1/providers", json=body, headers=admin_headers)
    assert r.status_code == 201, r.text
    assert r.json()["bio"] == "Line one\nLine two\tend"
    assert r.json()["booking_page"]["welcome_text"] == "a\r\nb"


@pytest.mark.parametrize("field", SERVICE_FIELDS)
async def test_control_characters_in_service_fields_are_422_naming_the_field(
    client, admin_headers, create_provider, field
):
    p = await create_provider()
    base = f"/api/v1/providers/{p['id']}/services"
    s = (await client.post(base, json=simple_service_body(), headers=admin_headers)).json()
    line_breaks = [] if field in MULTILINE_SERVICE_FIELDS else LINE_BREAKS
    for char in CONTROL + line_breaks:
        body = simple_service_body(**SERVICE_FIELDS[field](char))
        _assert_names(await client.post(base, json=body, headers=admin_headers), field)
        r = await client.patch(
            f"{base}/{s['id']}", json=SERVICE_FIELDS[field](char), headers=admin_headers
        )
        _assert_names(r, field)


async def test_control_characters_in_a_class_rule_and_a_time_off_reason_are_422(
    client, admin_headers, create_provider
):
    p = await create_provider()
    for char in CONTROL + LINE_BREAKS:
        body = class_service_body()
        body["recurrence"]["rrule"] = f"FREQ=WEEKLY;{char}BYDAY=TU"
        r = await client.post(
            f"/api/v1/providers/{p['id']}/services", json=body, headers=admin_headers
        )
        _assert_names(r, "recurrence.rrule")
        off = {"start": "2027-01-04T00:00", "end": "2027-01-05T00:00", "reason": f"a{char}b"}
        r = await client.put(
            f"/api/v1/providers/{p['id']}/availability",
            json={"time_off": [off]},
            headers=admin_headers,
        )
        _assert_names(r, "time_off[0].reason")


async def test_line_breaks_are_kept_in_multi_line_service_fields(
    client, admin_headers, create_provider
):
    p = await create_provider()
    body = simple_service_body(
        description="Wash\nCut",
        location={"type": "in_person", "address": "Main St 1\n10115 Berlin"},
    )
    r = await client.post(f"/api/v1/providers/{p['id']}/services", json=body, headers=admin_headers)
    assert r.status_code == 201, r.text
    assert r.json()["description"] == "Wash\nCut"
    assert r.json()["location"]["address"] == "Main St 1\n10115 Berlin"


async def test_a_hostile_slug_in_the_path_is_404_and_a_hostile_cursor_422(client, admin_headers):
    for slug in ["a%00b", "studio%0A", "%7F%7F%7F", "x" * 5000]:
        r = await client.get(f"/api/v1/providers/by-slug/{slug}")
        assert r.status_code == 404, r.text
    for cursor in ["a\x00b", "x" * 10_000]:
        r = await client.get("/api/v1/providers", params={"cursor": cursor}, headers=admin_headers)
        _assert_names(r, "cursor")


async def test_huge_strings_are_refused_never_a_500(client, admin_headers, create_provider):
    huge = "x" * (1024 * 1024)
    just_over = {"name": "n" * 201, "bio": "b" * 5001, "owner_email": "o" * 250 + "@x.org"}
    for field, value in just_over.items():
        body = provider_body(**{field: value})
        r = await client.post("/api/v1/providers", json=body, headers=admin_headers)
        _assert_names(r, field)
    megabyte = {
        "name": huge,
        "bio": huge,
        "slug": huge,
        "owner_email": huge + "@example.com",
        "photo_url": "https://example.com/" + huge,
    }
    for field, value in megabyte.items():
        body = provider_body(**{field: value})
        r = await client.post("/api/v1/providers", json=body, headers=admin_headers)
        assert r.status_code in (413, 422), (field, r.status_code)
    p = await create_provider()
    small = huge[: 512 * 1024]  # under the body limit: the field's own limit answers
    r = await client.post(
        f"/api/v1/providers/{p['id']}/services",
        json=simple_service_body(description=small),
        headers=admin_headers,
    )
    _assert_names(r, "description")


async def test_slugs_and_e_mails_are_stored_lower_case_and_stripped(
    client, admin_headers, auth_headers
):
    body = provider_body(
        slug="  Anna-Coaching ",
        owner_email=" Anna@Example.COM ",
        contact={"email": "Hello@Example.com "},
    )
    r = await client.post("/api/v1/providers", json=body, headers=admin_headers)
    assert r.status_code == 201, r.text
    p = r.json()
    assert (p["slug"], p["owner_email"], p["contact"]["email"]) == (
        "anna-coaching",
        "anna@example.com",
        "hello@example.com",
    )
    assert (await client.get("/api/v1/providers/by-slug/ANNA-coaching")).status_code == 200
    mine = await client.get(
        f"/api/v1/providers/{p['id']}", headers=auth_headers("anna@example.com")
    )
    assert mine.status_code == 200
    r = await client.patch(
        f"/api/v1/providers/{p['id']}", json={"slug": "ANNA-COACHING"}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json()["version"] == p["version"]  # nothing changed


def test_string_limits_are_stated_in_openapi(app):
    schemas = app.openapi()["components"]["schemas"]  # type: ignore[attr-defined]
    name = schemas["ProviderCreate"]["properties"]["name"]
    assert name["maxLength"] == 200 and name["pattern"]
    bio = next(
        s for s in schemas["ProviderCreate"]["properties"]["bio"]["anyOf"] if "maxLength" in s
    )
    assert bio["maxLength"] == 5000 and bio["pattern"]
