"""Open minutes and occurrences agree with the slots ``free_slots`` offers, DST included."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calisera.scheduling import free_slots, occurrences, open_minutes
from calisera.scheduling.model import (
    AvailabilityQuery,
    DateOverride,
    ProviderSchedule,
    Recurrence,
    ServiceDefinition,
    ServiceKind,
    TimeOff,
    WallInterval,
    WeeklyRule,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# (zone, spring-forward day, fall-back day)
CHANGES = [
    ("Europe/Berlin", date(2027, 3, 28), date(2027, 10, 31)),
    ("America/New_York", date(2027, 3, 14), date(2027, 11, 7)),
    ("Australia/Lord_Howe", date(2026, 10, 4), date(2027, 4, 4)),
]
DAYS = [(zone, day) for zone, spring, fall in CHANGES for day in (spring, fall)]


def slot_minutes(schedule: ProviderSchedule, day: date, step: int = 30) -> int:
    """Booked time if every slot of a ``step``-minute service on ``day`` were taken."""
    service = ServiceDefinition(
        uuid.uuid4(), ServiceKind.SIMPLE, step, min_notice_minutes=0, booking_window_days=1000
    )
    query = AvailabilityQuery(schedule, service, NOW, day, day, schedule.timezone)
    return step * len(free_slots(query))


@pytest.mark.parametrize(("zone", "day"), DAYS)
@pytest.mark.parametrize(
    "hours",
    [
        (time(0), time(0)),  # the whole day
        (time(0), time(4)),
        (time(1), time(2, 30)),  # ends inside a repeated hour
        (time(2, 30), time(4)),  # starts inside a gap (Berlin, New York)
        (time(9), time(17)),
    ],
)
def test_open_minutes_are_the_minutes_the_slot_grid_fills_across_a_change(
    zone: str, day: date, hours: tuple[time, time]
) -> None:
    schedule = ProviderSchedule(zone, weekly=tuple(WeeklyRule(d, *hours) for d in range(7)))
    around = open_minutes(schedule, day - timedelta(days=1), day + timedelta(days=1))
    assert list(around) == [day - timedelta(days=1), day, day + timedelta(days=1)]
    for d, minutes in around.items():
        assert minutes == slot_minutes(schedule, d), d


def test_a_change_shortens_or_lengthens_the_day_in_real_minutes() -> None:
    def minutes(zone: str, day: date, start: time, end: time) -> int:
        schedule = ProviderSchedule(
            zone, overrides=(DateOverride(day, (WallInterval(start, end),)),)
        )
        return open_minutes(schedule, day, day)[day]

    assert minutes("Europe/Berlin", date(2027, 3, 28), time(0), time(0)) == 23 * 60
    assert minutes("Europe/Berlin", date(2027, 10, 31), time(0), time(0)) == 25 * 60
    assert minutes("Europe/Berlin", date(2027, 3, 28), time(2, 30), time(4)) == 60
    # 01:00-02:30 covers the first pass and, again, 02:00-02:30 of the second
    assert minutes("Europe/Berlin", date(2027, 10, 31), time(1), time(2, 30)) == 120
    assert minutes("America/New_York", date(2027, 11, 7), time(0, 30), time(1, 30)) == 90


def test_time_off_closes_open_minutes_as_it_closes_slots() -> None:
    day = date(2027, 10, 31)
    schedule = ProviderSchedule(
        "Europe/Berlin",
        weekly=(WeeklyRule(day.weekday(), time(0), time(6)),),
        time_off=(TimeOff(datetime(2027, 10, 31, 2, 30), datetime(2027, 10, 31, 4)),),
    )
    # 02:30 of the first pass to 04:00: 30 + 60 + 60 minutes of the 7 open hours
    assert open_minutes(schedule, day, day)[day] == 7 * 60 - 150 == slot_minutes(schedule, day)


@settings(max_examples=80, deadline=None)
@given(
    zone_and_day=st.sampled_from(DAYS),
    start=st.integers(0, 47),
    length=st.integers(1, 48),
    off=st.none() | st.tuples(st.integers(0, 47), st.integers(1, 16)),
)
def test_open_minutes_equal_slot_minutes_for_any_half_hour_hours(
    zone_and_day: tuple[str, date], start: int, length: int, off: tuple[int, int] | None
) -> None:
    zone, day = zone_and_day
    begin = datetime.combine(day, time(0)) + timedelta(minutes=30 * start)
    end = min(begin + timedelta(minutes=30 * length), datetime.combine(day, time(0)) + timedelta(1))
    time_off = ()
    if off is not None:
        off_start = datetime.combine(day, time(0)) + timedelta(minutes=30 * off[0])
        time_off = (TimeOff(off_start, off_start + timedelta(minutes=30 * off[1])),)
    schedule = ProviderSchedule(
        zone,
        overrides=(DateOverride(day, (WallInterval(begin.time(), end.time()),)),),
        time_off=time_off,
    )
    assert open_minutes(schedule, day, day)[day] == slot_minutes(schedule, day)


@pytest.mark.parametrize(("zone", "day"), DAYS)
@pytest.mark.parametrize("start_time", [time(1, 30), time(2, 30), time(18)])
def test_occurrences_are_the_starts_the_listing_offers(
    zone: str, day: date, start_time: time
) -> None:
    service = ServiceDefinition(
        uuid.uuid4(),
        ServiceKind.CLASS,
        60,
        capacity=6,
        min_notice_minutes=0,
        booking_window_days=1000,
        recurrence=Recurrence("FREQ=DAILY", start_time, day - timedelta(days=3)),
    )
    first, last = day - timedelta(days=1), day + timedelta(days=1)
    query = AvailabilityQuery(ProviderSchedule(zone), service, NOW, first, last, zone)
    found = occurrences(service, zone, first, last)
    assert found == [s.start for s in free_slots(query)]
    assert all(s.tzinfo is UTC for s in found)
    assert 2 <= len(found) <= 3  # a wall time in the gap is skipped, a repeated one once
