""" "Add to calendar" for a booking: links that open Google Calendar's and Outlook's own
new-event forms, filled in (the .ics file is the third way, for every other calendar).

The links carry only what the booking page shows anyway (service, provider, times, the
public place text): never the manage link or its token, which would end up in another
company's logs. Both services read UTC instants, so the customer's zone does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK = "https://outlook.live.com/calendar/0/deeplink/compose"
_TEXT_LIMIT = 500
"""Long notes make a URL some browsers and proxies refuse; titles and places are short."""


@dataclass(frozen=True)
class CalendarEvent:
    title: str
    start: datetime
    end: datetime
    details: str = ""
    location: str = ""


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def google_link(event: CalendarEvent) -> str:
    dates = "/".join(_utc(i).strftime("%Y%m%dT%H%M%SZ") for i in (event.start, event.end))
    params = {
        "action": "TEMPLATE",
        "text": event.title[:_TEXT_LIMIT],
        "dates": dates,
        "details": event.details[:_TEXT_LIMIT],
        "location": event.location[:_TEXT_LIMIT],
    }
    return f"{GOOGLE}?{urlencode({k: v for k, v in params.items() if v})}"


def outlook_link(event: CalendarEvent) -> str:
    params = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": event.title[:_TEXT_LIMIT],
        "startdt": _utc(event.start).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "enddt": _utc(event.end).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "body": event.details[:_TEXT_LIMIT],
        "location": event.location[:_TEXT_LIMIT],
    }
    return f"{OUTLOOK}?{urlencode({k: v for k, v in params.items() if v})}"
