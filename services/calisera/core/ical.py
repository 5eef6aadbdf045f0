"""iCalendar (RFC 5545) files for one booking, shared by bookings and notifications.

A pure function of plain values, so the notifications service can build the same file
from event data without importing the bookings service. The UID is stable per booking
(``<booking id>@calisera``) and ``SEQUENCE`` is the booking's version, so calendar
clients update or cancel the entry they already hold instead of adding a new one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

Method = Literal["REQUEST", "CANCEL", "PUBLISH"]
Status = Literal["CONFIRMED", "CANCELLED", "TENTATIVE"]

PRODID = "-//Calisera//Calisera bookings//EN"


def booking_uid(booking_id: object) -> str:
    return f"{booking_id}@calisera"


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
) -> bytes:
    """One VEVENT in a VCALENDAR; times are written in UTC (``...Z``)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", (stamp or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
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
    cal.add_component(event)
    ics: bytes = cal.to_ical()
    return ics
