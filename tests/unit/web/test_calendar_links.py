""" "Add to calendar" links: UTC instants, escaped text, bounded length."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from calisera.web.calendar_links import GOOGLE, OUTLOOK, CalendarEvent, google_link, outlook_link

BERLIN = ZoneInfo("Europe/Berlin")
EVENT = CalendarEvent(
    title="Haircut & styling · Studio Aurora",
    start=datetime(2026, 12, 3, 9, 30, tzinfo=BERLIN),
    end=datetime(2026, 12, 3, 10, 15, tzinfo=BERLIN),
    details="Booked with Studio Aurora: https://example.test/p/studio-aurora",
    location="Oranienstraße 1, Berlin",
)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_google_link_fills_the_new_event_form_in_utc() -> None:
    url = google_link(EVENT)
    assert url.startswith(GOOGLE + "?")
    q = _query(url)
    assert q["action"] == "TEMPLATE"
    assert q["dates"] == "20261203T083000Z/20261203T091500Z"
    assert q["text"] == EVENT.title and q["location"] == EVENT.location


def test_outlook_link_fills_the_compose_form_in_utc() -> None:
    url = outlook_link(EVENT)
    assert url.startswith(OUTLOOK + "?")
    q = _query(url)
    assert (q["startdt"], q["enddt"]) == ("2026-12-03T08:30:00Z", "2026-12-03T09:15:00Z")
    assert q["subject"] == EVENT.title and q["rru"] == "addevent"


def test_hostile_text_is_escaped_and_bounded() -> None:
    nasty = CalendarEvent(
        title='"><script>&x=1\x00' + "a" * 10_000,
        start=EVENT.start,
        end=EVENT.end,
    )
    for url in (google_link(nasty), outlook_link(nasty)):
        assert "<" not in url and '"' not in url and "\x00" not in url and " " not in url
        assert len(url) < 2_000
        assert "details" not in url and "location" not in url  # empty fields left out
