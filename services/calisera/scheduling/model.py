"""Plain values the scheduling engine works on. No I/O, no clock, no global zone lookups.

Wall-clock values (``time``, naive ``datetime``) are in the provider's zone; instants
are timezone-aware ``datetime``s. Intervals are half-open ``[start, end)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum


class ServiceKind(StrEnum):
    SIMPLE = "simple"
    EVENT = "event"
    CLASS = "class"


@dataclass(frozen=True, slots=True)
class WallInterval:
    """A stretch of wall-clock time within one day, e.g. 09:00-12:30."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    weekday: int  # 0 = Monday ... 6 = Sunday
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class DateOverride:
    """Replaces that date's weekly hours; no intervals = day off."""

    date: date
    intervals: tuple[WallInterval, ...] = ()


@dataclass(frozen=True, slots=True)
class TimeOff:
    """Vacation or any closed stretch, in the provider's wall clock (naive datetimes)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A class's schedule: RRULE (RFC 5545, no DTSTART) from ``starts_on`` at ``start_time``."""

    rrule: str
    start_time: time
    starts_on: date
    until: date | None = None
    exdates: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    id: uuid.UUID
    kind: ServiceKind
    duration_minutes: int
    capacity: int = 1
    slot_interval_minutes: int | None = None  # simple; None = duration
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 60
    booking_window_days: int = 60
    max_bookings_per_day: int | None = None
    max_bookings_per_week: int | None = None
    starts_at: datetime | None = None  # event: aware instant
    recurrence: Recurrence | None = None  # class
    active: bool = True


@dataclass(frozen=True, slots=True)
class ProviderSchedule:
    """When the provider works: zone, weekly hours, date overrides, time off; a
    suspended provider offers nothing."""

    timezone: str
    weekly: tuple[WeeklyRule, ...] = ()
    overrides: tuple[DateOverride, ...] = ()
    time_off: tuple[TimeOff, ...] = ()
    suspended: bool = False


@dataclass(frozen=True, slots=True)
class BusyInterval:
    """Time the provider is taken by a confirmed booking (any kind).

    ``start``/``end`` is the booked time; the buffers extend it. Two bookings conflict
    when their buffered ranges ``[start - before, end + after)`` overlap: the same rule
    the bookings database enforces with its exclusion constraint.
    """

    start: datetime
    end: datetime
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    service_id: uuid.UUID | None = None
    seats: int = 1


@dataclass(frozen=True, slots=True)
class OccurrenceSeats:
    """Seats already taken in one occurrence of an event or class."""

    service_id: uuid.UUID
    start: datetime
    seats_taken: int


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime
    end: datetime
    seats_left: int


@dataclass(frozen=True, slots=True)
class AvailabilityQuery:
    """Everything needed to answer "which slots of this service are free?"."""

    schedule: ProviderSchedule
    service: ServiceDefinition
    now: datetime
    range_start: date  # inclusive, read in ``output_zone``
    range_end: date  # inclusive
    output_zone: str
    busy: tuple[BusyInterval, ...] = ()
    seats: tuple[OccurrenceSeats, ...] = ()
    other_services: tuple[ServiceDefinition, ...] = field(default=())
    """The provider's other active events and classes: their occurrences block
    one-to-one slots even before anyone books them."""
