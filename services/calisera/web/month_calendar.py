"""The booking page's month calendar: which month a visitor sees, which of its days have
free time, and which day's times are listed below it.

Pure: dates in, plain values out (the page fetches the month's free times from the
listing API and hands their days here). A phone shows one month (six rows at most) and
one day's times, instead of a week of every time, so the page stays about one screen
tall. Days before today or past the service's booking window cannot be chosen, and the
arrows never lead to a month with no bookable day.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class CalendarDay:
    day: date
    free: int
    """How many free times this day has (0: nothing to book)."""
    selected: bool
    today: bool

    @property
    def label(self) -> str:
        """What a screen reader says: ``Tuesday, 8 December, 5 free times``."""
        name = f"{_WEEKDAY_NAMES[self.day.weekday()]}, {self.day.day} {self.day:%B}"
        if not self.free:
            return f"{name}, no free times"
        return f"{name}, {self.free} free time{'s' if self.free != 1 else ''}"


@dataclass(frozen=True)
class MonthView:
    first: date
    title: str
    weeks: tuple[tuple[CalendarDay | None, ...], ...]
    """Monday-first rows; ``None`` pads the days of other months."""
    previous: date | None
    following: date | None
    selected: date | None

    @property
    def has_free_time(self) -> bool:
        return any(d is not None and d.free for week in self.weeks for d in week)


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def last_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    return last_of_month(day) + timedelta(days=1)


def parse_month(value: str | None) -> date | None:
    """``2026-12`` -> 1 December 2026; anything else is ``None``."""
    if not value or len(value) != 7:
        return None
    try:
        return date.fromisoformat(value + "-01")
    except ValueError:
        return None


def shown_month(month: date | None, day: date | None, today: date, last_bookable: date) -> date:
    """The month to show: the requested one (or the requested day's), kept between
    today's month and the last bookable day's."""
    wanted = first_of_month(month or day or today)
    return min(max(wanted, first_of_month(today)), first_of_month(last_bookable))


def bookable_range(month: date, today: date, last_bookable: date) -> tuple[date, date]:
    """The days of ``month`` worth asking the listing API about."""
    return max(month, today), min(last_of_month(month), last_bookable)


def month_view(
    month: date,
    free: Mapping[date, int],
    *,
    requested: date | None,
    today: date,
    last_bookable: date,
) -> MonthView:
    """The grid of ``month``; the selected day is ``requested`` when it has free time,
    else the month's first day that has."""
    free_days = sorted(d for d, n in free.items() if n and d.month == month.month)
    if requested is not None and free.get(requested):
        selected: date | None = requested
    else:
        selected = free_days[0] if free_days else None
    rows = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        rows.append(
            tuple(
                CalendarDay(d, free.get(d, 0), d == selected, d == today)
                if d.month == month.month
                else None
                for d in week
            )
        )
    previous = first_of_month(month - timedelta(days=1))
    following = next_month(month)
    return MonthView(
        first=month,
        title=f"{month:%B %Y}",
        weeks=tuple(rows),
        previous=previous if previous >= first_of_month(today) else None,
        following=following if following <= last_bookable else None,
        selected=selected,
    )
