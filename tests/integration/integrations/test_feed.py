"""The private iCalendar feed: a revocable URL (token hashed at rest), bookings with
stable UIDs and SEQUENCE, valid RFC 5545 (parsed with icalendar), conditional GET."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar

from tests.integration.pipeline.conftest import booking_event, query

BASE = "/api/v1/integrations/providers"


async def _new_feed(client, provider) -> str:
    r = await client.post(f"{BASE}/{provider.id}/feed", headers=provider.headers)
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert url.startswith("https://book.example.test/api/v1/integrations/feeds/")
    return urlsplit(url).path


def _events(body: bytes) -> dict[str, object]:
    cal = Calendar.from_ical(body)
    assert str(cal["VERSION"]) == "2.0" and cal["PRODID"]
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


async def test_feed_serves_bookings_with_stable_uid_and_sequence(
    client, provider, consume, settings
):
    path = await _new_feed(client, provider)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    stored = query(settings.database_url, "SELECT token_hash FROM integrations.feeds")
    assert bytes(stored[0][0]) == hashlib.sha256(token.encode()).digest()

    empty = await client.get(path)  # no credentials: the URL is the secret
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("text/calendar")
    assert _events(empty.content) == {}

    pid = uuid.UUID(provider.id)
    kept, dropped = uuid.uuid4(), uuid.uuid4()
    start = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    await consume(booking_event(provider_id=pid, booking_id=kept, start=start))
    await consume(
        booking_event(provider_id=pid, booking_id=dropped, start=start + timedelta(hours=2))
    )
    first = await client.get(path)
    events = _events(first.content)
    assert set(events) == {f"{kept}@calisera", f"{dropped}@calisera"}
    assert events[f"{kept}@calisera"]["SEQUENCE"] == 1
    assert events[f"{kept}@calisera"]["DTSTART"].dt == start

    moved = start + timedelta(days=1)
    await consume(
        booking_event(
            "booking.rescheduled", provider_id=pid, booking_id=kept, version=2, start=moved
        )
    )
    await consume(
        booking_event("booking.cancelled", provider_id=pid, booking_id=dropped, version=2)
    )
    # an old event arriving late changes nothing
    await consume(booking_event(provider_id=pid, booking_id=kept, start=start))
    events = _events((await client.get(path)).content)
    assert events[f"{kept}@calisera"]["SEQUENCE"] == 2
    assert events[f"{kept}@calisera"]["DTSTART"].dt == moved
    assert str(events[f"{dropped}@calisera"]["STATUS"]) == "CANCELLED"
    assert "Ana Lima" in str(events[f"{kept}@calisera"]["SUMMARY"])


async def test_conditional_get_answers_304_until_something_changes(client, provider, consume):
    path = await _new_feed(client, provider)
    pid = uuid.UUID(provider.id)
    await consume(booking_event(provider_id=pid))
    first = await client.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = await client.get(path)
    assert again.content == first.content and again.headers["etag"] == etag
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 304
    assert (await client.get(path, headers={"If-None-Match": f'"x", {etag}'})).status_code == 304
    assert (await client.get(path, headers={"If-Modified-Since": modified})).status_code == 304
    later = await client.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert later.status_code == 200
    assert (await client.get(path, headers={"If-Modified-Since": "\x01garbage"})).status_code in (
        200,
        422,
    )
    await consume(booking_event(provider_id=pid))
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_revoked_or_replaced_feed_url_is_404(client, provider):
    old = await _new_feed(client, provider)
    new = await _new_feed(client, provider)
    assert (await client.get(old)).status_code == 404
    assert (await client.get(new)).status_code == 200
    status = await client.get(f"{BASE}/{provider.id}/feed", headers=provider.headers)
    assert status.json()["active"] is True and status.json()["url"] is None
    assert (
        await client.delete(f"{BASE}/{provider.id}/feed", headers=provider.headers)
    ).status_code == 204
    gone = await client.get(new)
    assert gone.status_code == 404 and gone.headers["content-type"].startswith(
        "application/problem+json"
    )
    again = await client.delete(f"{BASE}/{provider.id}/feed", headers=provider.headers)
    assert again.status_code == 404


async def test_feed_tokens_of_the_wrong_shape_never_reach_the_database(client):
    for token in ("x", "a" * 43 + "%00", "a" * 5000, "../../etc/passwd"):
        r = await client.get(f"/api/v1/integrations/feeds/{token}.ics")
        assert r.status_code in (404, 422), (token, r.status_code)
    r = await client.get(f"/api/v1/integrations/feeds/{'a' * 43}.ics")
    assert r.status_code == 404
