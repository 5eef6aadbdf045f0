"""The blocking CalDAV calls (``caldav`` library), run in a thread by the callers.

One :class:`CalendarAccess` per operation: the library's client is synchronous and
cheap to make. Every call has the configured timeout, checks the network policy first,
and raises :class:`CalendarFailed` with a message safe to show the provider (never the
password).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from calisera.core.settings import Settings
from calisera.integrations.network_policy import AddressRefused, check_url_blocking

if TYPE_CHECKING:
    from caldav.collection import Calendar


class CalendarFailed(Exception):
    """The calendar could not be read or written; the message names why."""


@dataclass
class CalendarAccess:
    settings: Settings
    url: str
    username: str
    password: str = field(repr=False)

    def _calendar(self) -> Calendar:
        from caldav.davclient import DAVClient  # imported when used: ~0.7 s that the
        # relay and every worker would pay at start-up for nothing

        try:
            check_url_blocking(self.settings, self.url)
        except AddressRefused as exc:
            raise CalendarFailed(str(exc)) from exc
        plain_http = urlsplit(self.url).scheme == "http"
        if plain_http and not self.settings.integrations_allow_private_networks:
            raise CalendarFailed("the calendar URL must use https")
        client = DAVClient(
            url=self.url,
            username=self.username,
            password=self.password,
            timeout=max(1, int(self.settings.caldav_timeout_seconds)),
        )
        return client.calendar(url=self.url)

    @staticmethod
    def _object_url(calendar: Calendar, name: str) -> Any:
        assert calendar.url is not None
        return calendar.url.join(name)

    def read(self, start: datetime, end: datetime) -> list[str]:
        """The iCalendar text of every event overlapping ``[start, end)`` (unexpanded:
        recurrences are expanded here, by :mod:`.caldav_busy`)."""
        try:
            found: Any = self._calendar().search(start=start, end=end, event=True, expand=False)
            return [str(obj.data) for obj in found]
        except CalendarFailed:
            raise
        except Exception as exc:  # the library raises anything from niquests to lxml
            raise CalendarFailed(_describe(exc)) from exc

    def put(self, name: str, ics: str) -> None:
        from caldav.calendarobjectresource import Event

        try:
            calendar = self._calendar()
            Event(
                calendar.client, url=self._object_url(calendar, name), data=ics, parent=calendar
            ).save()
        except CalendarFailed:
            raise
        except Exception as exc:
            raise CalendarFailed(_describe(exc)) from exc

    def delete(self, name: str) -> None:
        from caldav.calendarobjectresource import Event
        from caldav.lib import error as caldav_error

        try:
            calendar = self._calendar()
            Event(calendar.client, url=self._object_url(calendar, name), parent=calendar).delete()
        except caldav_error.NotFoundError:
            return  # already gone: what we wanted
        except CalendarFailed:
            raise
        except Exception as exc:
            raise CalendarFailed(_describe(exc)) from exc


def _describe(exc: Exception) -> str:
    from caldav.lib import error as caldav_error

    if isinstance(exc, caldav_error.AuthorizationError):
        return "the calendar refused the user name or app password"
    if isinstance(exc, caldav_error.NotFoundError):
        return "no calendar at this URL"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]
