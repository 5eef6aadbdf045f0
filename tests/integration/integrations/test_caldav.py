"""Two-way CalDAV against a real Radicale on loopback (``caldav`` client library):
events in the calendar block slots (one-off, recurring, all-day, in their zones),
bookings are written to it and removed when cancelled, and a calendar that is down
neither stops bookings nor listing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from caldav.davclient import DAVClient

from calisera.core.events import EventEnvelope
from tests.integration.pipeline.conftest import query
from tests.peers.radicale_server import PASSWORD, USER, Radicale

BASE = "/api/v1/integrations/providers"
BERLIN = ZoneInfo("Europe/Berlin")


def _calendar(url: str):
    client = DAVClient(url=url, username=USER, password=PASSWORD)
    return client.calendar(url=url)


def _put_event(url: str, name: str, body: str) -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{name}@elsewhere\r\nDTSTAMP:20261201T000000Z\r\n{body}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    _calendar(url).save_event(ics)


def _day(offset: int) -> date:
    return (datetime.now(BERLIN) + timedelta(days=offset)).date()


async def _slots(client, provider, day: date) -> set[datetime]:
    r = await client.get(
        "/api/v1/availability",
        params={
            "service_id": provider.service_id,
            "start": day.isoformat(),
            "end": day.isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    return {datetime.fromisoformat(s["start"]) for s in r.json()["slots"]}


async def _connect(client, provider, url: str, password: str = PASSWORD) -> dict:
    r = await client.put(
        f"{BASE}/{provider.id}/caldav",
        json={"url": url, "username": USER, "password": password},
        headers=provider.headers,
    )
    assert r.status_code == 200, r.text
    assert password not in r.text
    return r.json()


async def _consume_bookings_outbox(consume, settings, seen: set) -> None:
    """What the relay would hand the integrations worker: the bookings outbox, in order."""
    for (envelope,) in query(
        settings.database_url, "SELECT envelope FROM bookings.outbox ORDER BY seq"
    ):
        event = EventEnvelope.model_validate(envelope)
        if event.id not in seen:
            seen.add(event.id)
            await consume(event)


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


async def test_calendar_events_remove_slots(client, provider, radicale: Radicale, settings):
    url = radicale.make_calendar()
    one_off, all_day, weekly = _day(2), _day(3), _day(4)
    before = await _slots(client, provider, one_off)
    assert _at(one_off, 10) in before and _at(one_off, 11) in before
    assert await _slots(client, provider, all_day)

    fmt = "%Y%m%dT%H%M%S"
    _put_event(
        url,
        "dentist",
        f"DTSTART;TZID=Europe/Berlin:{_at(one_off, 10).strftime(fmt)}\r\n"
        f"DTEND;TZID=Europe/Berlin:{_at(one_off, 11).strftime(fmt)}\r\nSUMMARY:Dentist\r\n",
    )
    _put_event(
        url,
        "holiday",
        f"DTSTART;VALUE=DATE:{all_day.strftime('%Y%m%d')}\r\n"
        f"DTEND;VALUE=DATE:{(all_day + timedelta(days=1)).strftime('%Y%m%d')}\r\nSUMMARY:Off\r\n",
    )
    # a weekly meeting in another zone (New York), from a week before: 09:00 NY = 15:00 Berlin
    ny = datetime.combine(weekly - timedelta(days=7), datetime.min.time()).replace(hour=9)
    _put_event(
        url,
        "standup",
        f"DTSTART;TZID=America/New_York:{ny.strftime(fmt)}\r\n"
        f"DTEND;TZID=America/New_York:{(ny + timedelta(hours=1)).strftime(fmt)}\r\n"
        "RRULE:FREQ=WEEKLY\r\nSUMMARY:Standup\r\n",
    )
    _put_event(
        url,
        "free",
        f"DTSTART;TZID=Europe/Berlin:{_at(one_off, 13).strftime(fmt)}\r\n"
        f"DTEND;TZID=Europe/Berlin:{_at(one_off, 14).strftime(fmt)}\r\nTRANSP:TRANSPARENT\r\n",
    )

    status = await _connect(client, provider, url)
    assert status["status"] == "synced", status
    assert status["last_success_at"] and status["busy_intervals"] >= 3

    after = await _slots(client, provider, one_off)
    assert _at(one_off, 10) not in after and _at(one_off, 9) in after and _at(one_off, 11) in after
    assert _at(one_off, 13) in after  # free time blocks nothing
    assert await _slots(client, provider, all_day) == set()
    standup = datetime.combine(weekly, datetime.min.time()).replace(
        hour=9, tzinfo=ZoneInfo("America/New_York")
    )
    weekly_slots = await _slots(client, provider, weekly)
    assert standup.astimezone(BERLIN) not in weekly_slots
    assert _at(weekly, 10) in weekly_slots

    # an event added later shows after the next read (on demand here)
    _put_event(
        url,
        "late",
        f"DTSTART;TZID=Europe/Berlin:{_at(one_off, 15).strftime(fmt)}\r\n"
        f"DTEND;TZID=Europe/Berlin:{_at(one_off, 16).strftime(fmt)}\r\n",
    )
    assert _at(one_off, 15) in await _slots(client, provider, one_off)
    synced = await client.post(f"{BASE}/{provider.id}/caldav/sync", headers=provider.headers)
    assert synced.status_code == 200 and synced.json()["status"] == "synced"
    assert _at(one_off, 15) not in await _slots(client, provider, one_off)

    stored = query(
        settings.database_url, "SELECT password_sealed FROM integrations.caldav_connections"
    )
    assert PASSWORD not in stored[0][0]


async def test_booking_appears_in_radicale_and_cancellation_removes_it(
    client, provider, radicale: Radicale, consume, settings
):
    url = radicale.make_calendar()
    await _connect(client, provider, url)
    start = _at(_day(3), 12)
    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": provider.service_id,
            "start": start.isoformat(),
            "customer": {"name": "Ana Lima", "email": "ana@example.com"},
        },
    )
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    seen: set = set()
    await _consume_bookings_outbox(consume, settings, seen)
    [event] = _calendar(url).events()
    vevent = event.icalendar_component
    assert str(vevent["UID"]) == f"{booking['id']}@calisera"
    assert vevent["DTSTART"].dt == start
    assert "Ana Lima" in str(vevent["SUMMARY"])
    first_sequence = vevent["SEQUENCE"]
    # the calendar's copy of our own booking does not block it twice or free anything
    status = (
        await client.post(f"{BASE}/{provider.id}/caldav/sync", headers=provider.headers)
    ).json()
    assert (
        status["status"] == "synced"
        and status["busy_intervals"] == 0
        and status["pending_writes"] == 0
    )

    moved = start + timedelta(hours=2)
    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/reschedule",
        json={"start": moved.isoformat()},
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert r.status_code == 200, r.text
    await _consume_bookings_outbox(consume, settings, seen)
    [event] = _calendar(url).events()
    assert event.icalendar_component["DTSTART"].dt == moved
    assert event.icalendar_component["SEQUENCE"] > first_sequence

    r = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        json={},
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert r.status_code == 200, r.text
    await _consume_bookings_outbox(consume, settings, seen)
    assert _calendar(url).events() == []


async def test_radicale_down_does_not_stop_bookings(
    client, provider, radicale: Radicale, consume, settings, worker_db
):
    from calisera.integrations.caldav_writes import write_due

    url = radicale.make_calendar()
    _put_event(
        url,
        "gym",
        f"DTSTART;TZID=Europe/Berlin:{_at(_day(2), 9).strftime('%Y%m%dT%H%M%S')}\r\n"
        f"DTEND;TZID=Europe/Berlin:{_at(_day(2), 10).strftime('%Y%m%dT%H%M%S')}\r\n",
    )
    assert (await _connect(client, provider, url))["status"] == "synced"
    radicale.stop()

    down = await client.post(f"{BASE}/{provider.id}/caldav/sync", headers=provider.headers)
    assert down.status_code == 200
    status = down.json()
    assert status["status"] == "not_synced" and status["last_error"]
    assert status["busy_intervals"] == 1  # the last good read still counts
    slots = await _slots(client, provider, _day(2))
    assert slots and _at(_day(2), 9) not in slots

    start = _at(_day(2), 14)
    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": provider.service_id,
            "start": start.isoformat(),
            "customer": {"name": "Ana Lima", "email": "ana@example.com"},
        },
    )
    assert booked.status_code == 201, booked.text
    await _consume_bookings_outbox(consume, settings, set())
    status = (await client.get(f"{BASE}/{provider.id}/caldav", headers=provider.headers)).json()
    assert status["status"] == "not_synced" and status["pending_writes"] == 1

    radicale.start()  # back, same port and storage: the write goes through on a later sweep
    query(settings.database_url, "UPDATE integrations.caldav_writes SET next_attempt_at = now()")
    assert await write_due(settings, worker_db.sessionmaker) == 1
    [mine] = [e for e in _calendar(url).events() if "calisera" in str(e.icalendar_component["UID"])]
    assert str(mine.icalendar_component["UID"]) == f"{booked.json()['id']}@calisera"
    status = (
        await client.post(f"{BASE}/{provider.id}/caldav/sync", headers=provider.headers)
    ).json()
    assert status["status"] == "synced" and status["pending_writes"] == 0


async def test_wrong_password_connects_as_not_synced(client, provider, radicale: Radicale):
    url = radicale.make_calendar()
    status = await _connect(client, provider, url, password="not-the-password")
    assert status["status"] == "not_synced"
    assert "refused" in status["last_error"] and "not-the-password" not in status["last_error"]
    slots = await _slots(client, provider, _day(2))
    assert slots
    r = await client.delete(f"{BASE}/{provider.id}/caldav", headers=provider.headers)
    assert r.status_code == 204
    r = await client.get(f"{BASE}/{provider.id}/caldav", headers=provider.headers)
    assert r.status_code == 404 and r.json()["type"].endswith("/calendar-not-connected")


async def test_bad_connection_input_is_422(client, provider):
    for body, field in [
        ({"url": "https://c.test/\x00", "username": "a", "password": "b"}, "url"),
        ({"url": "https://c.test/x/", "username": "", "password": "b"}, "username"),
        ({"url": "https://c.test/x/", "username": "a", "password": "b" * 600}, "password"),
        ({"url": "https://c.test/x/", "username": "a"}, "password"),
    ]:
        r = await client.put(f"{BASE}/{provider.id}/caldav", json=body, headers=provider.headers)
        assert r.status_code == 422, r.text
        assert any(field in e["field"] for e in r.json()["errors"])


async def test_private_calendar_urls_are_refused_when_not_allowed(
    client, provider, settings, worker_db
):
    from calisera.integrations.caldav_sync import sync_now

    await _connect(client, provider, "http://127.0.0.1:9/none/")
    strict = settings.with_changes(integrations_allow_private_networks=False)
    await sync_now(strict, worker_db.sessionmaker, uuid.UUID(provider.id))
    status = (await client.get(f"{BASE}/{provider.id}/caldav", headers=provider.headers)).json()
    assert status["status"] == "not_synced" and "non-public" in status["last_error"]
    assert datetime.fromisoformat(status["last_sync_at"]) <= datetime.now(UTC)
