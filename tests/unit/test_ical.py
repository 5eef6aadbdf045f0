"""The shared .ics builder: stable UID, SEQUENCE, UTC times, method and status."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calisera.core.ical import booking_ics, booking_uid

ZURICH = ZoneInfo("Europe/Zurich")


def _event(ics: bytes) -> icalendar.Event:
    cal = icalendar.Calendar.from_ical(ics)
    [event] = cal.walk("VEVENT")
    return event


def test_times_are_written_in_utc_and_the_uid_is_stable():
    ics = booking_ics(
        uid=booking_uid("b1"),
        sequence=3,
        start=datetime(2027, 3, 29, 9, 0, tzinfo=ZURICH),
        end=datetime(2027, 3, 29, 9, 30, tzinfo=ZURICH),
        summary="Haircut with Ada",
        organizer_email="ada@example.com",
        attendee_email="grace@example.com",
        method="REQUEST",
    )
    text = ics.decode()
    assert "DTSTART:20270329T070000Z" in text
    assert "DTEND:20270329T073000Z" in text
    assert "METHOD:REQUEST" in text
    event = _event(ics)
    assert str(event["uid"]) == "b1@calisera"
    assert int(event["sequence"]) == 3
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["organizer"]) == "mailto:ada@example.com"
    assert str(event["attendee"]) == "mailto:grace@example.com"


def test_a_cancellation_carries_method_cancel_and_status_cancelled():
    ics = booking_ics(
        uid="b1@calisera",
        sequence=4,
        start=datetime(2027, 1, 5, 9, 0, tzinfo=ZURICH),
        end=datetime(2027, 1, 5, 10, 0, tzinfo=ZURICH),
        summary="Yoga",
        attendee_email="grace@example.com",
        method="CANCEL",
        status="CANCELLED",
    )
    event = _event(ics)
    assert str(event["status"]) == "CANCELLED"
    assert "METHOD:CANCEL" in ics.decode()
    assert event["attendee"].params["PARTSTAT"] == "DECLINED"


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        booking_ics(
            uid="x",
            sequence=1,
            start=datetime(2027, 1, 5, 9, 0),
            end=datetime(2027, 1, 5, 10, 0),
            summary="x",
        )
