"""Availability: weekly hours, date overrides, time off, in the provider's wall clock."""

from __future__ import annotations

import pytest

AVAILABILITY = {
    "weekly": [
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 0, "start": "13:00", "end": "17:30"},
        {"weekday": 4, "start": "10:05", "end": "14:00"},
    ],
    "overrides": [
        {"date": "2026-12-24", "intervals": []},
        {"date": "2026-12-23", "intervals": [{"start": "14:00", "end": "16:00"}]},
    ],
    "time_off": [{"start": "2026-12-27T00:00", "end": "2027-01-03T00:00", "reason": "Holiday"}],
}


@pytest.fixture
async def provider(create_provider):
    return await create_provider(timezone="America/New_York")


def url(provider: dict) -> str:
    return f"/api/v1/providers/{provider['id']}/availability"


async def test_put_then_get_returns_the_same_wall_clock_shape(client, admin_headers, provider):
    r = await client.put(url(provider), json=AVAILABILITY, headers=admin_headers)
    assert r.status_code == 200, r.text
    got = (await client.get(url(provider), headers=admin_headers)).json()
    assert got["weekly"] == [
        {"weekday": 0, "start": "09:00:00", "end": "12:00:00"},
        {"weekday": 0, "start": "13:00:00", "end": "17:30:00"},
        {"weekday": 4, "start": "10:05:00", "end": "14:00:00"},
    ]
    assert got["overrides"] == [
        {"date": "2026-12-23", "intervals": [{"start": "14:00:00", "end": "16:00:00"}]},
        {"date": "2026-12-24", "intervals": []},
    ]
    assert got["time_off"] == [
        {"start": "2026-12-27T00:00:00", "end": "2027-01-03T00:00:00", "reason": "Holiday"}
    ]


async def test_timezone_change_keeps_wall_clock_hours(client, admin_headers, provider):
    await client.put(url(provider), json=AVAILABILITY, headers=admin_headers)
    r = await client.patch(
        f"/api/v1/providers/{provider['id']}",
        json={"timezone": "Europe/Lisbon"},
        headers=admin_headers,
    )
    assert r.status_code == 200
    got = (await client.get(url(provider), headers=admin_headers)).json()
    assert got["weekly"][0] == {"weekday": 0, "start": "09:00:00", "end": "12:00:00"}


async def test_put_replaces_everything(client, admin_headers, provider):
    await client.put(url(provider), json=AVAILABILITY, headers=admin_headers)
    r = await client.put(
        url(provider),
        json={"weekly": [{"weekday": 6, "start": "08:00", "end": "09:00"}]},
        headers=admin_headers,
    )
    assert r.json() == {
        "weekly": [{"weekday": 6, "start": "08:00:00", "end": "09:00:00"}],
        "overrides": [],
        "time_off": [],
    }


def _with(**changes):
    body = {"weekly": [], "overrides": [], "time_off": []}
    body.update(changes)
    return body


BAD_AVAILABILITY = [
    (_with(weekly=[{"weekday": 7, "start": "09:00", "end": "10:00"}]), "weekly[0].weekday"),
    (_with(weekly=[{"weekday": -1, "start": "09:00", "end": "10:00"}]), "weekly[0].weekday"),
    (_with(weekly=[{"weekday": 1, "start": "09:03", "end": "10:00"}]), "weekly[0].start"),
    (_with(weekly=[{"weekday": 1, "start": "09:00", "end": "10:00:30"}]), "weekly[0].end"),
    (_with(weekly=[{"weekday": 1, "start": "25:00", "end": "10:00"}]), "weekly[0].start"),
    (_with(weekly=[{"weekday": 1, "start": "09:00+02:00", "end": "10:00"}]), "weekly[0].start"),
    (
        _with(
            weekly=[
                {"weekday": 1, "start": "09:00", "end": "12:00"},
                {"weekday": 2, "start": "09:00", "end": "12:00"},
                {"weekday": 2, "start": "12:00", "end": "11:00"},
            ]
        ),
        "weekly[2].end",
    ),
    (
        _with(
            weekly=[
                {"weekday": 3, "start": "09:00", "end": "12:00"},
                {"weekday": 3, "start": "11:30", "end": "13:00"},
            ]
        ),
        "weekly[1].start",
    ),
    (_with(overrides=[{"date": "2026-02-30", "intervals": []}]), "overrides[0].date"),
    (
        _with(overrides=[{"date": "2026-12-24"}, {"date": "2026-12-24"}]),
        "overrides[1].date",
    ),
    (
        _with(
            overrides=[{"date": "2026-12-24", "intervals": [{"start": "10:00", "end": "09:00"}]}]
        ),
        "overrides[0].intervals[0].end",
    ),
    (
        _with(
            overrides=[
                {
                    "date": "2026-12-24",
                    "intervals": [
                        {"start": "09:00", "end": "11:00"},
                        {"start": "10:00", "end": "12:00"},
                    ],
                }
            ]
        ),
        "overrides[0].intervals[1].start",
    ),
    (
        _with(time_off=[{"start": "2026-12-27T00:00", "end": "2026-12-26T00:00"}]),
        "time_off[0].end",
    ),
    (
        _with(time_off=[{"start": "2026-12-27T00:00+01:00", "end": "2026-12-28T00:00"}]),
        "time_off[0].start",
    ),
    (
        _with(time_off=[{"start": "2026-12-27T00:02", "end": "2026-12-28T00:00"}]),
        "time_off[0].start",
    ),
    (
        _with(
            time_off=[{"start": "2026-12-27T00:00", "end": "2026-12-28T00:00", "reason": "x" * 201}]
        ),
        "time_off[0].reason",
    ),
    (_with(weekdays=[]), "weekdays"),
]


async def test_each_bad_availability_input_is_422_naming_field(client, admin_headers, provider):
    await client.put(url(provider), json=AVAILABILITY, headers=admin_headers)
    for body, field in BAD_AVAILABILITY:
        r = await client.put(url(provider), json=body, headers=admin_headers)
        assert r.status_code == 422, (field, r.text)
        fields = [e["field"] for e in r.json()["errors"]]
        assert field in fields, (field, fields)
    unchanged = await client.get(url(provider), headers=admin_headers)
    assert len(unchanged.json()["weekly"]) == 3
