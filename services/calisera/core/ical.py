"""iCalendar (RFC 5545) files for one booking, shared by bookings and notifications.

A pure function of plain values, so the notifications service can build the same file
from event data without importing the bookings service. The UID is stable per booking
(``<booking id>@calisera``) and ``SEQUENCE`` is the booking's version, so calendar
clients update or cancel the entry they already hold instead of adding a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

Method = Literal["REQUEST", "CANCEL", "PUBLISH"]
Status = Literal["CONFIRMED", "CANCELLED", "TENTATIVE"]

PRODID = "-//Calisera//Calisera bookings//EN"


def booking_uid(booking_id: object) -> str:
    return f"{booking_id}@calisera"


@dataclass(frozen=True)
class CalendarEntry:
    """One more booking in the same file (the other bookings of a class series)."""

    uid: str
    sequence: int
    start: datetime
    end: datetime


def booking_ics(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    summary: str,
    description: str | None = None,
    location: str | None = None,
    organizer_email: str | None = None,
    organizer_name: str | None = None,
    attendee_email: str | None = None,
    attendee_name: str | None = None,
    method: Method = "PUBLISH",
    status: Status = "CONFIRMED",
    stamp: datetime | None = None,
    also: Sequence[CalendarEntry] = (),
) -> bytes:
    """One VEVENT in a VCALENDAR (one more per entry of ``also``, alike but for UID,
    SEQUENCE and times); times are written in UTC (``...Z``)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    for entry in (CalendarEntry(uid, sequence, start, end), *also):
        if entry.start.tzinfo is None or entry.end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        cal.add_component(
            _event(
                entry,
                stamp=stamp,
                summary=summary,
                description=description,
                location=location,
                organizer_email=organizer_email,
                organizer_name=organizer_name,
                attendee_email=attendee_email,
                attendee_name=attendee_name,
                status=status,
            )
        )
    ics: bytes = cal.to_ical()
    return ics


def _event(
    entry: CalendarEntry,
    *,
    stamp: datetime | None,
    summary: str,
    description: str | None,
    location: str | None,
    organizer_email: str | None,
    organizer_name: str | None,
    attendee_email: str | None,
    attendee_name: str | None,
    status: Status,
) -> Event:
    event = Event()
    event.add("uid", entry.uid)
    event.add("sequence", entry.sequence)
    event.add("dtstamp", (stamp or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", entry.start.astimezone(UTC))
    event.add("dtend", entry.end.astimezone(UTC))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    event.add("status", status)
    if organizer_email:
        organizer = vCalAddress(f"mailto:{organizer_email}")
        if organizer_name:
            organizer.params["cn"] = vText(organizer_name)
        event.add("organizer", organizer)
    if attendee_email:
        attendee = vCalAddress(f"mailto:{attendee_email}")
        if attendee_name:
            attendee.params["cn"] = vText(attendee_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("DECLINED" if status == "CANCELLED" else "ACCEPTED")
        event.add("attendee", attendee)
    return event
