"""The one cursor helper: opaque, round-tripping, strict about what it accepts."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import httpx
import pytest
from fastapi import FastAPI

from calisera.core.errors import InvalidInput, install_problem_handlers
from calisera.core.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Cursor,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
    page_of,
)

AT = datetime(2027, 3, 28, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
ID = uuid.UUID("0b9a8f6e-1c2d-4e5f-8a9b-0c1d2e3f4a5b")


def test_a_position_round_trips_with_its_offset_and_microseconds():
    cursor = encode_cursor(AT, ID)
    assert decode_cursor(cursor) == (AT, ID)
    assert decode_cursor(cursor)[0].utcoffset() == timedelta(hours=2)


def test_cursors_are_url_safe_without_padding():
    for n in range(5):
        cursor = encode_cursor(AT + timedelta(microseconds=n), ID, "x" * n)
        assert cursor.isascii() and "=" not in cursor and "+" not in cursor and "/" not in cursor


def test_other_shapes_decode_as_asked():
    cursor = encode_cursor(date(2027, 1, 2), 7)
    assert decode_cursor(cursor, tuple[date, int]) == (date(2027, 1, 2), 7)


@pytest.mark.parametrize(
    "bad",
    [
        "garbage!",
        "",
        "AAAA",  # valid base64, not JSON
        base64.urlsafe_b64encode(b'["2027-01-01T00:00:00", "x"]').decode(),  # naive, no uuid
        base64.urlsafe_b64encode(b'["2027-01-01T00:00:00+00:00"]').decode(),  # too short
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
    ],
)
def test_anything_else_is_a_422_naming_the_field(bad):
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(bad, field="after")
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == ["after"]


def test_a_naive_time_is_not_a_position():
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor(datetime(2027, 1, 1), ID))


def test_page_of_cuts_at_the_limit_and_points_after_the_last_item():
    rows = [
        (datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=i), uuid.uuid4()) for i in range(4)
    ]
    items, cursor = page_of(rows, 3, lambda r: r)
    assert items == rows[:3]
    assert cursor is not None and decode_cursor(cursor) == rows[2]
    assert page_of(rows, 4, lambda r: r) == (rows, None)
    assert page_of([], 3, lambda r: r) == ([], None)


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/things", response_model=Page[int])
    async def things(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Page[int]:
        start = decode_cursor(cursor, tuple[int])[0] if cursor else 0
        items = list(range(start, start + limit + 1))
        page, next_cursor = page_of(items, limit, lambda i: (i + 1,))
        return Page(items=page, next_cursor=next_cursor)

    return app


async def test_limits_and_cursor_rules_are_stated_in_openapi_and_enforced():
    app = _app()
    params = {
        p["name"]: p["schema"] for p in app.openapi()["paths"]["/things"]["get"]["parameters"]
    }
    assert params["limit"]["minimum"] == 1 and params["limit"]["maximum"] == MAX_LIMIT
    assert params["limit"]["default"] == DEFAULT_LIMIT
    cursor = next(s for s in params["cursor"]["anyOf"] if s.get("type") == "string")
    assert cursor["maxLength"] > 0 and cursor["pattern"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = (await client.get("/things", params={"limit": 2})).json()
        assert first["items"] == [0, 1]
        second = await client.get("/things", params={"limit": 2, "cursor": first["next_cursor"]})
        assert second.json()["items"] == [2, 3]
        for params in ({"limit": 0}, {"limit": MAX_LIMIT + 1}):
            r = await client.get("/things", params=params)
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limit"
        for bad in ("garbage!", "x" * 10_000):
            r = await client.get("/things", params={"cursor": bad})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
