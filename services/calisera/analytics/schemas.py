"""Response models of the analytics API (the dashboard contract's types).

Ratios are in [0, 1] (rounded to 4 places) or null when their denominator is zero;
durations are minutes; days are provider-local dates.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Counts(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    bookings_created: int
    cancelled: int
    rescheduled: int
    completed: int
    no_show: int
    bookings: int = Field(description="Held bookings (not cancelled) by appointment day.")
    seats_booked: int
    seats_offered: int = Field(description="Capacity of event and class occurrences.")
    booked_minutes: int
    available_minutes: int = Field(description="Working time from the weekly hours.")
    utilization: float | None = Field(description="One-to-one booked minutes / available minutes.")
    seat_utilization: float | None = Field(
        description="Seats booked in events and classes / seats offered."
    )
    cancellation_rate: float | None = Field(description="cancelled / bookings_created.")


class ServicePerformance(Counts):
    service_id: uuid.UUID
    name: str | None
    kind: str | None
    average_lead_time_minutes: float | None


class DayPerformance(Counts):
    date: date


class CustomerCounts(BaseModel):
    new: int
    returning: int
    repeat_rate: float | None


class Heading(BaseModel):
    """What every answer starts with: whose numbers, for which days."""

    model_config = ConfigDict(populate_by_name=True)

    provider_id: uuid.UUID
    from_: date = Field(alias="from")
    to: date


class Summary(Heading, Counts):
    timezone: str
    lead_time: dict[str, int] = Field(
        description="Bookings made in the period by time from booking to start."
    )
    cancellation_notice: dict[str, int] = Field(
        description="Cancellations in the period by time left before the start."
    )
    by_service: list[ServicePerformance]
    by_day: list[DayPerformance]
    customers: CustomerCounts


class Point(BaseModel):
    start: date
    value: int | float | None


class Timeseries(Heading):
    metric: str
    interval: str
    timezone: str
    points: list[Point]


class ServiceTable(Heading):
    items: list[ServicePerformance]


class HeatmapCell(BaseModel):
    weekday: int = Field(description="0 = Monday.")
    hour: int
    bookings: int


class Heatmap(Heading):
    timezone: str
    cells: list[HeatmapCell]
    by_weekday: list[int]
    by_hour: list[int]
    busiest_weekday: int | None
    busiest_hour: int | None


class ZoneCount(BaseModel):
    timezone: str
    customers: int


class CountryCount(BaseModel):
    country: str
    customers: int


class CustomerMix(Heading, CustomerCounts):
    timezones: list[ZoneCount]
    countries: list[CountryCount]
