"""Service catalog: the three kinds, every field's validation, archive, PATCH."""

from __future__ import annotations

import pytest

from .conftest import EVENT_DAY, class_service_body, event_service_body, simple_service_body


@pytest.fixture
async def provider(create_provider):
    return await create_provider()


def services_url(provider: dict) -> str:
    return f"/api/v1/providers/{provider['id']}/services"


async def test_simple_service_defaults(client, admin_headers, provider):
    r = await client.post(
        services_url(provider),
        json=simple_service_body(
            location={"type": "in_person", "address": "Main St 1"}, price_text="30 EUR"
        ),
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["capacity"] == 1
    assert s["min_notice_minutes"] == 60
    assert s["booking_window_days"] == 60
    assert s["cancellation_notice_minutes"] == 0
    assert s["max_bookings_per_day"] is None
    assert s["active"] is True
    assert s["location"] == {"type": "in_person", "address": "Main St 1"}
    assert s["recurrence"] is None


async def test_event_and_class_services(client, admin_headers, provider):
    event = await client.post(
        services_url(provider), json=event_service_body(), headers=admin_headers
    )
    assert event.status_code == 201, event.text
    assert event.json()["starts_at"] == f"{EVENT_DAY.isoformat()}T07:00:00Z"
    klass = await client.post(
        services_url(provider),
        json=class_service_body(
            recurrence={
                "rrule": "RRULE:freq=weekly;byday=tu,th;until=20270630",
                "start_time": "18:00",
                "starts_on": "2026-12-01",
                "exdates": ["2026-12-24", "2026-12-24", "2026-12-22"],
            }
        ),
        headers=admin_headers,
    )
    assert klass.status_code == 201, klass.text
    assert klass.json()["recurrence"] == {
        "rrule": "FREQ=WEEKLY;BYDAY=TU,TH",
        "start_time": "18:00:00",
        "starts_on": "2026-12-01",
        "until": "2027-06-30",
        "exdates": ["2026-12-22", "2026-12-24"],
    }
    assert klass.json()["capacity"] == 12


_rec = {"start_time": "18:00", "starts_on": "2026-12-01"}


BAD_SERVICES = [
    (simple_service_body(name=""), "name"),
    (simple_service_body(kind="webinar"), "kind"),
    (simple_service_body(duration_minutes=0), "duration_minutes"),
    (simple_service_body(duration_minutes=1441), "duration_minutes"),
    (simple_service_body(capacity=2), "capacity"),
    (simple_service_body(slot_interval_minutes=7), "slot_interval_minutes"),
    (simple_service_body(buffer_before_minutes=-5), "buffer_before_minutes"),
    (simple_service_body(buffer_after_minutes=2000), "buffer_after_minutes"),
    (simple_service_body(min_notice_minutes=-1), "min_notice_minutes"),
    (simple_service_body(booking_window_days=0), "booking_window_days"),
    (simple_service_body(max_bookings_per_day=0), "max_bookings_per_day"),
    (simple_service_body(cancellation_notice_minutes=-1), "cancellation_notice_minutes"),
    (simple_service_body(price_text="x" * 101), "price_text"),
    (simple_service_body(description="x" * 5001), "description"),
    (simple_service_body(location={"type": "moon"}), "location"),
    (simple_service_body(location={"type": "online", "url": "nope"}), "location.online.url"),
    (simple_service_body(location={"type": "in_person"}), "location.in_person.address"),
    (simple_service_body(starts_at="2099-01-01T10:00:00Z"), "starts_at"),
    (simple_service_body(recurrence={"rrule": "FREQ=DAILY", **_rec}), "recurrence"),
    (event_service_body(starts_at=None), "starts_at"),
    (event_service_body(starts_at="2099-03-29T09:00:00"), "starts_at"),
    (event_service_body(starts_at="2001-03-29T09:00:00Z"), "starts_at"),
    (event_service_body(capacity=0), "capacity"),
    (event_service_body(slot_interval_minutes=30), "slot_interval_minutes"),
    (class_service_body(recurrence=None), "recurrence"),
    (class_service_body(recurrence={"rrule": "FREQ=HOURLY", **_rec}), "recurrence.rrule"),
    (class_service_body(recurrence={"rrule": "FREQ=MINUTELY", **_rec}), "recurrence.rrule"),
    (class_service_body(recurrence={"rrule": "NONSENSE", **_rec}), "recurrence.rrule"),
    (
        class_service_body(recurrence={"rrule": "FREQ=WEEKLY;BYDAY=XX", **_rec}),
        "recurrence.rrule",
    ),
    (
        class_service_body(
            recurrence={"rrule": "DTSTART:20261201T180000\nRRULE:FREQ=DAILY", **_rec}
        ),
        "recurrence.rrule",
    ),
    (
        class_service_body(recurrence={"rrule": "FREQ=DAILY;BYHOUR=9,10,11", **_rec}),
        "recurrence.rrule",
    ),
    (
        class_service_body(
            recurrence={"rrule": "FREQ=WEEKLY;UNTIL=20270101", "until": "2027-02-01", **_rec}
        ),
        "recurrence.until",
    ),
    (
        class_service_body(recurrence={"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", **_rec}),
        "recurrence.rrule",
    ),
    (
        class_service_body(recurrence={"rrule": "FREQ=WEEKLY", "until": "2026-11-01", **_rec}),
        "recurrence.until",
    ),
    (
        class_service_body(
            recurrence={
                "rrule": "FREQ=WEEKLY",
                "start_time": "18:03",
                "starts_on": "2026-12-01",
            }
        ),
        "recurrence.start_time",
    ),
    (class_service_body(starts_at="2099-01-01T10:00:00Z"), "starts_at"),
    (event_service_body(starts_at="9999-12-31T23:00:00Z"), "starts_at"),
    (
        class_service_body(
            recurrence={"rrule": "FREQ=DAILY", "start_time": "18:00", "starts_on": "9999-12-01"}
        ),
        "recurrence.starts_on",
    ),
    (
        class_service_body(recurrence={"rrule": "FREQ=DAILY", "until": "9999-12-31", **_rec}),
        "recurrence.until",
    ),
    (simple_service_body(colour="red"), "colour"),
]


async def test_each_bad_service_field_is_422_naming_it(client, admin_headers, provider):
    for body, field in BAD_SERVICES:
        r = await client.post(services_url(provider), json=body, headers=admin_headers)
        assert r.status_code == 422, (field, r.text)
        fields = [e["field"] for e in r.json()["errors"]]
        assert field in fields, (field, fields)
    listed = await client.get(services_url(provider), headers=admin_headers)
    assert listed.json()["items"] == []


async def test_patch_service_partial_and_kind_fixed(client, admin_headers, provider):
    s = (
        await client.post(services_url(provider), json=simple_service_body(), headers=admin_headers)
    ).json()
    url = f"{services_url(provider)}/{s['id']}"
    r = await client.patch(
        url, json={"duration_minutes": 45, "max_bookings_per_day": 4}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["duration_minutes"], r.json()["max_bookings_per_day"], r.json()["name"]) == (
        45,
        4,
        "Haircut",
    )
    cleared = await client.patch(url, json={"max_bookings_per_day": None}, headers=admin_headers)
    assert cleared.json()["max_bookings_per_day"] is None
    kind = await client.patch(url, json={"kind": "event"}, headers=admin_headers)
    assert kind.status_code == 422
    assert kind.json()["errors"][0]["field"] == "kind"
    cap = await client.patch(url, json={"capacity": 3}, headers=admin_headers)
    assert cap.status_code == 422
    assert cap.json()["errors"][0]["field"] == "capacity"
    null = await client.patch(url, json={"name": None}, headers=admin_headers)
    assert null.json()["errors"][0]["field"] == "name"


async def test_delete_archives_and_public_profile_hides_it(client, admin_headers, provider):
    keep = (
        await client.post(services_url(provider), json=simple_service_body(), headers=admin_headers)
    ).json()
    gone = (
        await client.post(
            services_url(provider), json=simple_service_body(name="Old"), headers=admin_headers
        )
    ).json()
    r = await client.delete(f"{services_url(provider)}/{gone['id']}", headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["active"] is False
    again = await client.delete(f"{services_url(provider)}/{gone['id']}", headers=admin_headers)
    assert again.status_code == 200
    listed = await client.get(services_url(provider), headers=admin_headers)
    assert {s["id"]: s["active"] for s in listed.json()["items"]} == {
        keep["id"]: True,
        gone["id"]: False,
    }
    public = await client.get(f"/api/v1/providers/by-slug/{provider['slug']}")
    assert public.status_code == 200
    assert [s["id"] for s in public.json()["services"]] == [keep["id"]]


async def test_public_profile_shows_chosen_services_and_hides_links(
    client, admin_headers, provider
):
    online = (
        await client.post(
            services_url(provider),
            json=simple_service_body(location={"type": "online", "url": "https://meet.example/x"}),
            headers=admin_headers,
        )
    ).json()
    hidden = (
        await client.post(services_url(provider), json=event_service_body(), headers=admin_headers)
    ).json()
    public = (await client.get(f"/api/v1/providers/by-slug/{provider['slug']}")).json()
    assert {s["id"] for s in public["services"]} == {online["id"], hidden["id"]}
    assert public["services"][0]["location"] == {"type": "online"}
    await client.patch(
        f"/api/v1/providers/{provider['id']}",
        json={"booking_page": {"shown_service_ids": [online["id"]], "accent_color": "#AA3300"}},
        headers=admin_headers,
    )
    public = (await client.get(f"/api/v1/providers/by-slug/{provider['slug']}")).json()
    assert [s["id"] for s in public["services"]] == [online["id"]]
    assert public["accent_color"] == "#aa3300"
    assert "owner_email" not in public


async def test_suspended_provider_is_hidden_from_public_not_admin(
    client, admin_headers, owner_headers, provider
):
    r = await client.patch(
        f"/api/v1/providers/{provider['id']}", json={"suspended": True}, headers=admin_headers
    )
    assert r.json()["suspended"] is True
    slug_url = f"/api/v1/providers/by-slug/{provider['slug']}"
    assert (await client.get(slug_url)).status_code == 404
    assert (await client.get(slug_url, headers=admin_headers)).json()["suspended"] is True
    assert (await client.get(slug_url, headers=owner_headers)).status_code == 200
    unsuspend = await client.patch(
        f"/api/v1/providers/{provider['id']}", json={"suspended": False}, headers=owner_headers
    )
    assert unsuspend.status_code == 403
