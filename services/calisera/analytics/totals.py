"""Counters of a day, a week or a service, and the ratios the dashboard shows.

Stored ``daily_stats`` rows are summed into :class:`DayTotals`; open minutes and seats
offered come from :mod:`calisera.analytics.capacity`. Ratios are computed per bucket
from the summed counters (never averaged), rounded to 4 places, None for a zero
denominator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from calisera.analytics.capacity import ServiceOffer
from calisera.scheduling import open_minutes
from calisera.scheduling.model import ProviderSchedule

METRICS = (
    "bookings_created",
    "cancelled",
    "rescheduled",
    "completed",
    "no_show",
    "bookings",
    "seats_booked",
    "seats_offered",
    "booked_minutes",
    "available_minutes",
    "utilization",
    "seat_utilization",
    "cancellation_rate",
)
INTERVALS = ("day", "week", "month")


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def period_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class DayTotals:
    """One bucket of counters (a day, a week, a service...)."""

    bookings_created: int = 0
    cancelled: int = 0
    rescheduled: int = 0
    completed: int = 0
    no_show: int = 0
    bookings: int = 0
    seats_booked: int = 0
    seats_offered: int = 0
    booked_minutes: int = 0
    available_minutes: int = 0
    lead_time_minutes: int = 0
    cancel_notice_minutes: int = 0
    simple_booked_minutes: int = 0
    offered_seats_booked: int = 0

    def add_stats(self, row: Mapping[str, Any], kind: str | None) -> None:
        self.bookings_created += row["created"]
        self.cancelled += row["cancelled"]
        self.rescheduled += row["rescheduled"]
        self.completed += row["completed"]
        self.no_show += row["no_show"]
        self.bookings += row["bookings"]
        self.seats_booked += row["seats_booked"]
        self.booked_minutes += row["booked_minutes"]
        self.lead_time_minutes += row["lead_time_minutes"]
        self.cancel_notice_minutes += row["cancel_notice_minutes"]
        if kind in ("event", "class"):
            self.offered_seats_booked += row["seats_booked"]
        else:
            self.simple_booked_minutes += row["booked_minutes"]

    def merge(self, other: DayTotals) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def utilization(self) -> float | None:
        """One-to-one time booked / time available (events and classes use seats)."""
        return ratio(self.simple_booked_minutes, self.available_minutes)

    @property
    def seat_utilization(self) -> float | None:
        return ratio(self.offered_seats_booked, self.seats_offered)

    @property
    def cancellation_rate(self) -> float | None:
        return ratio(self.cancelled, self.bookings_created)

    def metric(self, name: str) -> float | int | None:
        value: float | int | None = getattr(self, name)
        return value

    def counts(self) -> dict[str, Any]:
        """Every metric of :data:`METRICS` (the dashboard's counters and ratios)."""
        return {name: self.metric(name) for name in METRICS}


def totals_by_day(
    first: date,
    last: date,
    stat_rows: Iterable[Mapping[str, Any]],
    kinds: Mapping[uuid.UUID, str | None],
    hours: ProviderSchedule | None,
    offers: Iterable[ServiceOffer],
    tz: str | None,
) -> dict[date, DayTotals]:
    """Every day of ``[first, last]`` with its counters, available minutes and seats."""
    out = {d: DayTotals() for d in days(first, last)}
    for row in stat_rows:
        if row["day"] in out:
            out[row["day"]].add_stats(row, kinds.get(row["service_id"]))
    if hours is not None:
        for d, minutes in open_minutes(hours, first, last).items():
            out[d].available_minutes = minutes
    for offer in offers:
        for d, seats in offer.seats_offered(first, last, tz).items():
            out[d].seats_offered += seats
    return out


def totals_by_service(
    first: date,
    last: date,
    stat_rows: Iterable[Mapping[str, Any]],
    offers: Mapping[uuid.UUID, ServiceOffer],
    tz: str | None,
) -> dict[uuid.UUID, DayTotals]:
    out: dict[uuid.UUID, DayTotals] = {}
    for row in stat_rows:
        if first <= row["day"] <= last:
            offer = offers.get(row["service_id"])
            out.setdefault(row["service_id"], DayTotals()).add_stats(
                row, offer.kind if offer else None
            )
    for sid, offer in offers.items():
        seats = sum(offer.seats_offered(first, last, tz).values())
        if seats:
            out.setdefault(sid, DayTotals()).seats_offered += seats
    return out


def series(
    by_day: Mapping[date, DayTotals], metric: str, interval: str
) -> list[tuple[date, float | int | None]]:
    """``metric`` per ``interval`` bucket (weeks start Monday; ratios computed per bucket)."""
    grouped: dict[date, DayTotals] = {}
    for d in sorted(by_day):
        grouped.setdefault(period_start(d, interval), DayTotals()).merge(by_day[d])
    return [(start, grouped[start].metric(metric)) for start in sorted(grouped)]
