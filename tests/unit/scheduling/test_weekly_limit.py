"""The weekly limit: bookings of the service per ISO week (Monday to Sunday) of the
provider's local dates, in listing and in the check bookings make."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calisera.scheduling import explain, free_slots
from calisera.scheduling.model import (
    AvailabilityQuery,
    BusyInterval,
    ProviderSchedule,
    ServiceDefinition,
    ServiceKind,
    WeeklyRule,
)

ZONE = "Pacific/Auckland"  # far from UTC: local Monday 00:30 is Sunday in UTC
TZ = ZoneInfo(ZONE)
NOW = datetime(2027, 6, 1, tzinfo=UTC)
SERVICE = ServiceDefinition(
    uuid.uuid4(),
    ServiceKind.SIMPLE,
    30,
    min_notice_minutes=0,
    booking_window_days=60,
    max_bookings_per_week=2,
)
SCHEDULE = ProviderSchedule(ZONE, weekly=tuple(WeeklyRule(d, time(0), time(0)) for d in range(7)))


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 6, day, hour, minute, tzinfo=TZ)


def booked(start: datetime, service_id: uuid.UUID = SERVICE.id) -> BusyInterval:
    return BusyInterval(start, start + timedelta(minutes=30), service_id=service_id)


def query(*busy: BusyInterval, first: int = 14, last: int = 27) -> AvailabilityQuery:
    return AvailabilityQuery(
        SCHEDULE, SERVICE, NOW, date(2027, 6, first), date(2027, 6, last), ZONE, busy=busy
    )


def offered_days(q: AvailabilityQuery) -> set[int]:
    return {s.start.astimezone(TZ).day for s in free_slots(q)}


def test_a_full_week_offers_nothing_and_the_next_week_is_open() -> None:
    # Monday 14 June 2027 to Sunday 20 June, local time; two bookings fill the week.
    q = query(booked(local(14, 0)), booked(local(20, 23, 30)))
    days = offered_days(q)
    assert not days & set(range(14, 21))
    assert set(range(21, 28)) <= days
    assert explain(q, local(16, 10)) == "weekly_limit"
    assert explain(q, local(21, 0)) is None


def test_weeks_are_counted_in_the_providers_zone() -> None:
    # Sunday 13 June 23:30 local (a Sunday in UTC too) belongs to the week before;
    # Monday 14 June 00:30 local is Sunday 13 June 12:30 UTC, yet counts for the 14th.
    q = query(booked(local(13, 23, 30)), booked(local(14, 0, 30)))
    assert explain(q, local(15, 10)) is None
    q = query(booked(local(13, 23, 30)), booked(local(14, 0, 30)), booked(local(19, 9)))
    assert explain(q, local(15, 10)) == "weekly_limit"
    assert explain(q, local(13, 10)) is None  # the week before has one


def test_bookings_of_other_services_do_not_count() -> None:
    other = uuid.uuid4()
    q = query(booked(local(14, 9), other), booked(local(15, 9), other))
    assert explain(q, local(16, 10)) is None


def test_the_daily_limit_is_named_first_when_both_are_reached() -> None:
    both = ServiceDefinition(
        SERVICE.id, ServiceKind.SIMPLE, 30, min_notice_minutes=0, max_bookings_per_day=1,
        max_bookings_per_week=1,
    )  # fmt: skip
    q = AvailabilityQuery(
        SCHEDULE, both, NOW, date(2027, 6, 14), date(2027, 6, 20), ZONE,
        busy=(booked(local(14, 9)),),
    )  # fmt: skip
    assert explain(q, local(14, 12)) == "daily_limit"
    assert explain(q, local(15, 12)) == "weekly_limit"
