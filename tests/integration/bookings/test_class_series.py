"""Class series: every occurrence of a weekly class for some weeks in one request, all or
nothing or skipping what is full, one manage token, cancel one or the rest. Real
PostgreSQL through the app; races checked afterwards with SQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from tests.integration.pipeline.conftest import query

from .conftest import booking_body

WEEK = timedelta(weeks=1)


def _next_weekday_at_18(days_ahead: int = 1) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    return datetime.combine(day, time(18), UTC)


async def _weekly_class(schedules: Any, capacity: int = 3, **fields: Any) -> tuple[Any, datetime]:
    """A class that meets every week on tomorrow's weekday at 18:00 UTC, and its first start."""
    first = _next_weekday_at_18()
    weekday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][first.weekday()]
    config = await schedules.add_service(
        kind="class",
        capacity=capacity,
        duration_minutes=60,
        recurrence={
            "rrule": f"FREQ=WEEKLY;BYDAY={weekday}",
            "start_time": "18:00",
            "starts_on": first.date().isoformat(),
        },
        **fields,
    )
    return config, first


def _series(config: Any, start: datetime, **over: Any) -> dict[str, Any]:
    return booking_body(config, start, weeks=4) | over


def _customer(n: int) -> dict[str, str]:
    return {"name": f"Member {n}", "email": f"member{n}@example.com"}


async def test_a_series_books_every_week_with_one_manage_token(client, schedules, database_url):
    config, first = await _weekly_class(schedules)
    r = await client.post("/api/v1/bookings/series", json=_series(config, first))
    assert r.status_code == 201, r.text
    series = r.json()
    starts = [datetime.fromisoformat(b["start"]) for b in series["bookings"]]
    assert starts == [first + i * WEEK for i in range(4)]
    assert series["skipped"] == []
    assert {b["series_id"] for b in series["bookings"]} == {series["id"]}
    assert {b["status"] for b in series["bookings"]} == {"confirmed"}
    token = series["manage_token"]
    for b in series["bookings"]:
        own = await client.get(f"/api/v1/bookings/{b['id']}", headers={"X-Manage-Token": token})
        assert own.status_code == 200, own.text
        assert own.json()["series_id"] == series["id"]
        assert own.json()["manage_token"] is None
    listed = await client.get(
        f"/api/v1/bookings/{series['bookings'][2]['id']}/series",
        headers={"X-Manage-Token": token},
    )
    assert listed.status_code == 200, listed.text
    assert [b["id"] for b in listed.json()["bookings"]] == [b["id"] for b in series["bookings"]]
    assert listed.json()["manage_token"] is None
    seats = query(database_url, "SELECT seats_taken FROM bookings.occurrences ORDER BY start_at")
    assert seats == [(1,)] * 4
    # one event per booking; the first speaks for the series and lists every member
    envelopes = [
        row[0]
        for row in query(
            database_url,
            "SELECT envelope FROM bookings.outbox WHERE type = 'booking.created'"
            " ORDER BY (envelope->'data'->>'start')",
        )
    ]
    assert len(envelopes) == 4
    speaking = [e["data"]["series"] for e in envelopes if e["data"]["series"]["speaks"]]
    assert len(speaking) == 1
    assert [m["booking_id"] for m in speaking[0]["members"]] == [
        b["id"] for b in series["bookings"]
    ]
    assert envelopes[0]["data"]["series"]["speaks"] is True
    assert all(e["data"]["manage_token_sealed"] for e in envelopes)


async def test_until_a_date_counts_in_the_providers_calendar(client, schedules):
    config, first = await _weekly_class(schedules)
    until = (first + 2 * WEEK).date().isoformat()
    r = await client.post(
        "/api/v1/bookings/series",
        json=booking_body(config, first, until=until),
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["bookings"]) == 3


async def test_all_or_nothing_books_nothing_when_one_week_is_full(client, schedules, database_url):
    config, first = await _weekly_class(schedules, capacity=1)
    third = first + 2 * WEEK
    taken = await client.post(
        "/api/v1/bookings", json=booking_body(config, third, customer=_customer(99))
    )
    assert taken.status_code == 201, taken.text
    r = await client.post("/api/v1/bookings/series", json=_series(config, first))
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"].endswith("/slot-unavailable")
    assert datetime.fromisoformat(problem["start"]) == third
    assert third.isoformat()[:16] in problem["detail"]
    assert query(database_url, "SELECT count(*) FROM bookings.bookings") == [(1,)]
    assert query(
        database_url, "SELECT count(*) FROM bookings.occurrences WHERE seats_taken > 0"
    ) == [(1,)]
    assert query(database_url, "SELECT count(*) FROM bookings.outbox") == [(1,)]


async def test_skip_unavailable_books_around_a_full_week(client, schedules):
    config, first = await _weekly_class(schedules, capacity=1)
    third = first + 2 * WEEK
    await client.post("/api/v1/bookings", json=booking_body(config, third, customer=_customer(9)))
    r = await client.post(
        "/api/v1/bookings/series", json=_series(config, first, mode="skip_unavailable")
    )
    assert r.status_code == 201, r.text
    starts = [datetime.fromisoformat(b["start"]) for b in r.json()["bookings"]]
    assert starts == [first, first + WEEK, first + 3 * WEEK]
    [skipped] = r.json()["skipped"]
    assert datetime.fromisoformat(skipped["start"]) == third
    assert skipped["reason"] == "full"


async def test_skip_unavailable_with_nothing_bookable_is_a_conflict(client, schedules):
    config, first = await _weekly_class(schedules, capacity=1)
    for i in range(2):
        start = first + i * WEEK
        await client.post(
            "/api/v1/bookings", json=booking_body(config, start, customer=_customer(i))
        )
    r = await client.post(
        "/api/v1/bookings/series",
        json=booking_body(config, first, weeks=2, mode="skip_unavailable"),
    )
    assert r.status_code == 409, r.text
    assert [s["reason"] for s in r.json()["skipped"]] == ["full", "full"]


async def test_a_customer_limit_stops_an_all_or_nothing_series(client, schedules):
    config, first = await _weekly_class(schedules, max_open_bookings_per_customer=2)
    r = await client.post("/api/v1/bookings/series", json=_series(config, first))
    assert r.status_code == 409, r.text
    assert r.json()["type"].endswith("/limit-reached")
    assert datetime.fromisoformat(r.json()["start"]) == first + 2 * WEEK
    ok = await client.post(
        "/api/v1/bookings/series", json=_series(config, first, mode="skip_unavailable")
    )
    assert ok.status_code == 201, ok.text
    assert len(ok.json()["bookings"]) == 2
    assert {s["reason"] for s in ok.json()["skipped"]} == {"limit-reached"}


async def test_cancel_the_rest_of_a_series_frees_every_later_week(client, schedules, database_url):
    config, first = await _weekly_class(schedules)
    series = (await client.post("/api/v1/bookings/series", json=_series(config, first))).json()
    token = {"X-Manage-Token": series["manage_token"]}
    second = series["bookings"][1]["id"]
    r = await client.post(
        f"/api/v1/bookings/{second}/cancel",
        json={"scope": "rest", "reason": "moving away"},
        headers=token,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    listed = await client.get(f"/api/v1/bookings/{second}/series", headers=token)
    assert [b["status"] for b in listed.json()["bookings"]] == [
        "confirmed",
        "cancelled",
        "cancelled",
        "cancelled",
    ]
    seats = query(database_url, "SELECT seats_taken FROM bookings.occurrences ORDER BY start_at")
    assert seats == [(1,), (0,), (0,), (0,)]
    cancelled = [
        row[0]["series"]
        for row in query(
            database_url,
            "SELECT envelope->'data' FROM bookings.outbox WHERE type = 'booking.cancelled'",
        )
    ]
    assert len(cancelled) == 3
    [speaker] = [s for s in cancelled if s["speaks"]]
    assert len(speaker["members"]) == 3
    # the rest again: nothing more to cancel, same answer
    again = await client.post(
        f"/api/v1/bookings/{second}/cancel", json={"scope": "rest"}, headers=token
    )
    assert again.status_code == 200, again.text
    assert len(query(database_url, "SELECT 1 FROM bookings.outbox")) == 4 + 3


async def test_cancel_one_week_leaves_the_others(client, schedules):
    config, first = await _weekly_class(schedules)
    series = (await client.post("/api/v1/bookings/series", json=_series(config, first))).json()
    token = {"X-Manage-Token": series["manage_token"]}
    third = series["bookings"][2]["id"]
    r = await client.post(f"/api/v1/bookings/{third}/cancel", json={}, headers=token)
    assert r.status_code == 200, r.text
    listed = await client.get(f"/api/v1/bookings/{third}/series", headers=token)
    assert [b["status"] for b in listed.json()["bookings"]] == [
        "confirmed",
        "confirmed",
        "cancelled",
        "confirmed",
    ]


async def test_the_rest_respects_the_cancellation_notice_for_customers(client, schedules):
    config, first = await _weekly_class(schedules, cancellation_notice_minutes=48 * 60)
    series = (await client.post("/api/v1/bookings/series", json=_series(config, first))).json()
    token = {"X-Manage-Token": series["manage_token"]}
    r = await client.post(
        f"/api/v1/bookings/{series['bookings'][0]['id']}/cancel",
        json={"scope": "rest"},
        headers=token,
    )
    assert r.status_code == 409, r.text  # the first week is tomorrow: within the notice
    assert r.json()["type"].endswith("/too-late-to-change")
    later = await client.post(
        f"/api/v1/bookings/{series['bookings'][1]['id']}/cancel",
        json={"scope": "rest"},
        headers=token,
    )
    assert later.status_code == 200, later.text


async def test_scope_rest_of_a_booking_of_no_series_names_the_field(
    client, schedules, admin_headers
):
    config, first = await _weekly_class(schedules)
    single = await client.post("/api/v1/bookings", json=booking_body(config, first))
    booking_id = single.json()["id"]
    r = await client.post(
        f"/api/v1/bookings/{booking_id}/cancel", json={"scope": "rest"}, headers=admin_headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "scope"
    none = await client.get(f"/api/v1/bookings/{booking_id}/series", headers=admin_headers)
    assert none.status_code == 404, none.text


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"weeks": None}, "weeks"),
        ({"until": "2030-01-01"}, "weeks"),
        ({"weeks": 0}, "weeks"),
        ({"weeks": 53}, "weeks"),
        ({"weeks": "4"}, "weeks"),
        ({"weeks": True}, "weeks"),
        ({"mode": "most"}, "mode"),
        ({"customer": {"name": "A\u0000B", "email": "a@example.com"}}, "customer.name"),
        ({"notes": "x" * 100_000}, "notes"),
        ({"shoe_size": 44}, "shoe_size"),
    ],
)
async def test_bad_series_requests_name_the_field(client, schedules, over, field):
    config, first = await _weekly_class(schedules)
    body = {k: v for k, v in (_series(config, first) | over).items() if v is not None}
    r = await client.post("/api/v1/bookings/series", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in r.json()["errors"]}, r.json()


async def test_a_series_starts_on_an_occurrence_of_a_class(client, schedules):
    config, first = await _weekly_class(schedules)
    r = await client.post(
        "/api/v1/bookings/series", json=_series(config, first + timedelta(hours=1))
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "start"
    until = await client.post(
        "/api/v1/bookings/series",
        json=booking_body(config, first, until=(first - timedelta(days=1)).date().isoformat()),
    )
    assert until.status_code == 422, until.text
    assert until.json()["errors"][0]["field"] == "until"
    simple = await schedules.add_service()
    one = await client.post("/api/v1/bookings/series", json=_series(simple, first.replace(hour=10)))
    assert one.status_code == 422, one.text
    assert one.json()["errors"][0]["field"] == "service_id"


async def test_a_daily_class_until_next_year_is_too_long(client, schedules):
    config = await schedules.add_service(kind="class", capacity=3)  # meets daily
    start = _next_weekday_at_18()
    r = await client.post(
        "/api/v1/bookings/series",
        json=booking_body(config, start, until=(start + timedelta(days=90)).date().isoformat()),
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "until"


async def test_concurrent_all_or_nothing_series_never_leave_a_partial_series(
    client, schedules, database_url
):
    """Eight members race for three seats over four weeks, while single bookings take
    seats of week 3: every series is booked whole or not at all, no week is oversold."""
    config, first = await _weekly_class(schedules, capacity=3)
    series = [
        client.post("/api/v1/bookings/series", json=_series(config, first, customer=_customer(n)))
        for n in range(8)
    ]
    singles = [
        client.post(
            "/api/v1/bookings",
            json=booking_body(config, first + 2 * WEEK, customer=_customer(100 + n)),
        )
        for n in range(2)
    ]
    responses = await asyncio.gather(*series, *singles)
    statuses = Counter(r.status_code for r in responses[:8])
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    single_wins = sum(r.status_code == 201 for r in responses[8:])
    assert statuses[201] + single_wins <= 3
    assert statuses[201] >= 1
    sizes = query(
        database_url,
        "SELECT count(*) FROM bookings.bookings WHERE series_id IS NOT NULL GROUP BY series_id",
    )
    assert sizes == [(4,)] * statuses[201]
    taken = query(
        database_url,
        "SELECT o.seats_taken, (SELECT coalesce(sum(b.seats), 0) FROM bookings.bookings b"
        "  WHERE b.occurrence_id = o.id AND b.status = 'confirmed')"
        " FROM bookings.occurrences o ORDER BY o.start_at",
    )
    assert all(seats == counted <= 3 for seats, counted in taken), taken
    assert taken[2][0] == statuses[201] + single_wins


async def test_concurrent_skipping_series_fill_each_week_exactly(client, schedules, database_url):
    config, first = await _weekly_class(schedules, capacity=2)
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/bookings/series",
                json=_series(config, first, customer=_customer(n), mode="skip_unavailable"),
            )
            for n in range(5)
        )
    )
    assert Counter(r.status_code for r in responses) == {201: 2, 409: 3}
    assert (
        query(database_url, "SELECT seats_taken FROM bookings.occurrences ORDER BY start_at")
        == [(2,)] * 4
    )


async def test_an_idempotent_retry_replays_the_series(client, schedules, database_url):
    config, first = await _weekly_class(schedules)
    body = _series(config, first)
    key = {"Idempotency-Key": f"series-{uuid.uuid4()}"}
    one = await client.post("/api/v1/bookings/series", json=body, headers=key)
    two = await client.post("/api/v1/bookings/series", json=body, headers=key)
    assert one.status_code == two.status_code == 201
    assert one.json() == two.json()
    assert query(database_url, "SELECT count(DISTINCT series_id) FROM bookings.bookings") == [(1,)]


async def test_other_tenants_and_other_tokens_see_no_series(
    client, schedules, admin_headers, auth_headers
):
    config, first = await _weekly_class(schedules)
    series = (await client.post("/api/v1/bookings/series", json=_series(config, first))).json()
    booking_id = series["bookings"][0]["id"]
    other = await client.post(
        "/api/v1/bookings", json=booking_body(config, first + 4 * WEEK, customer=_customer(5))
    )
    owner = await client.get(
        f"/api/v1/bookings/{booking_id}/series", headers=auth_headers("owner@example.com")
    )
    assert owner.status_code == 200, owner.text
    stranger = auth_headers("someone-else@example.com")
    for headers in (
        stranger,
        {"X-Manage-Token": other.json()["manage_token"]},
        {"X-Manage-Token": "x" * 43},
    ):
        r = await client.get(f"/api/v1/bookings/{booking_id}/series", headers=headers)
        assert r.status_code in (401, 404), (headers, r.text)
        c = await client.post(
            f"/api/v1/bookings/{booking_id}/cancel", json={"scope": "rest"}, headers=headers
        )
        assert c.status_code in (401, 404), (headers, c.text)
    admin = await client.get(f"/api/v1/bookings/{booking_id}/series", headers=admin_headers)
    assert admin.status_code == 200
    assert json.dumps(admin.json()).count('"confirmed"') == 4


async def test_cancelling_the_rest_offers_the_freed_places_to_the_waitlist(client, schedules):
    config, first = await _weekly_class(schedules, capacity=1)
    series = (await client.post("/api/v1/bookings/series", json=_series(config, first))).json()
    third = first + 2 * WEEK
    joined = await client.post(
        "/api/v1/waitlist",
        json={"service_id": str(config.service.id), "start": third.isoformat(),
              "customer": _customer(7)},
    )  # fmt: skip
    assert joined.status_code == 201, joined.text
    entry = joined.json()
    r = await client.post(
        f"/api/v1/bookings/{series['bookings'][1]['id']}/cancel",
        json={"scope": "rest"},
        headers={"X-Manage-Token": series["manage_token"]},
    )
    assert r.status_code == 200, r.text
    seen = await client.get(
        f"/api/v1/waitlist/{entry['id']}", headers={"X-Waitlist-Token": entry["token"]}
    )
    assert seen.json()["status"] == "offered", seen.text


async def test_a_series_does_not_jump_the_waitlist(client, schedules):
    """A place freed while someone waits is theirs: the series books around it."""
    config, first = await _weekly_class(schedules, capacity=1)
    second = first + WEEK
    taken = await client.post(
        "/api/v1/bookings", json=booking_body(config, second, customer=_customer(1))
    )
    joined = await client.post(
        "/api/v1/waitlist",
        json={"service_id": str(config.service.id), "start": second.isoformat(),
              "customer": _customer(2)},
    )  # fmt: skip
    assert joined.status_code == 201, joined.text
    cancelled = await client.post(
        f"/api/v1/bookings/{taken.json()['id']}/cancel",
        headers={"X-Manage-Token": taken.json()["manage_token"]},
    )
    assert cancelled.status_code == 200, cancelled.text
    r = await client.post(
        "/api/v1/bookings/series",
        json=_series(config, first, customer=_customer(3), mode="skip_unavailable"),
    )
    assert r.status_code == 201, r.text
    assert [datetime.fromisoformat(s["start"]) for s in r.json()["skipped"]] == [second]
