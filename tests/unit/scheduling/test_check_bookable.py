"""check_bookable: each refusal reason, on one ordinary Berlin week."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from calisera.scheduling import NotBookable, check_bookable, free_slots
from calisera.scheduling.model import (
    AvailabilityQuery,
    BusyInterval,
    OccurrenceSeats,
    ProviderSchedule,
    ServiceDefinition,
    ServiceKind,
    TimeOff,
    WeeklyRule,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 6, 7, 6, 0, tzinfo=UTC)  # Monday 08:00 in Berlin
SERVICE = ServiceDefinition(
    uuid.uuid4(),
    ServiceKind.SIMPLE,
    30,
    buffer_before_minutes=10,
    buffer_after_minutes=10,
    min_notice_minutes=120,
    booking_window_days=14,
)
SCHEDULE = ProviderSchedule(
    "Europe/Berlin",
    weekly=tuple(WeeklyRule(d, time(9), time(17)) for d in range(5)),
    time_off=(TimeOff(datetime(2027, 6, 9, 12), datetime(2027, 6, 9, 14)),),
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 6, day, hour, minute, tzinfo=BERLIN)


def q(service: ServiceDefinition = SERVICE, **kw: object) -> AvailabilityQuery:
    return AvailabilityQuery(
        SCHEDULE, service, NOW, date(2027, 6, 7), date(2027, 6, 20), "Europe/Berlin", **kw
    )


def reason(query: AvailabilityQuery, start: datetime, seats: int = 1) -> str | None:
    try:
        check_bookable(query, start, seats)
    except NotBookable as exc:
        return exc.reason
    return None


def test_each_refusal_has_its_reason() -> None:
    booked = BusyInterval(at(8, 10), at(8, 10, 30), 10, 10, SERVICE.id)
    query = q(busy=(booked,))
    assert reason(query, at(8, 9)) is None
    assert reason(query, at(7, 7)) == "in_past"
    assert reason(query, at(7, 9, 30)) == "too_soon"
    assert reason(query, at(22, 9)) == "too_far"
    assert reason(query, at(8, 9, 10)) == "misaligned"
    assert reason(query, at(8, 8)) == "outside_availability"
    assert reason(query, at(12, 10)) == "outside_availability"  # Saturday
    assert reason(query, at(9, 12, 30)) == "outside_availability"  # time off
    assert reason(query, at(8, 10, 30)) == "taken"  # buffers 10 + 10 overlap
    assert reason(query, at(8, 11)) is None
    assert reason(query, at(8, 9), seats=2) == "full"
    assert reason(q(replace(SERVICE, active=False)), at(8, 9)) == "inactive"
    limited = replace(SERVICE, max_bookings_per_day=1)
    assert reason(q(limited, busy=(booked,)), at(8, 14)) == "daily_limit"
    assert reason(q(limited, busy=(booked,)), at(9, 14)) is None


def test_buffers_of_both_sides_decide_a_conflict() -> None:
    booked = BusyInterval(at(8, 10), at(8, 10, 30), 10, 10, SERVICE.id)
    starts = {s.start for s in free_slots(q(busy=(booked,)))}
    # New slot [s-10, s+40) against booked [09:50, 10:40): 09:00 ends 09:40 (fits),
    # 09:30 would reach 10:10, 10:30 starts its buffer at 10:20, 11:00 at 10:50.
    assert at(8, 9) in starts
    assert at(8, 9, 30) not in starts
    assert at(8, 10, 30) not in starts
    assert at(8, 11) in starts


def test_a_booking_of_another_kind_blocks_one_to_one_slots() -> None:
    event = ServiceDefinition(
        uuid.uuid4(), ServiceKind.EVENT, 90, capacity=20, starts_at=at(10, 13)
    )
    starts = {s.start for s in free_slots(q(other_services=(event,)))}
    assert at(10, 12) in starts and at(10, 12, 30) not in starts
    assert at(10, 13) not in starts and at(10, 14) not in starts
    assert at(10, 15) in starts
    assert reason(q(other_services=(event,)), at(10, 14)) == "taken"


def test_event_seats_and_full_occurrences() -> None:
    event = ServiceDefinition(
        uuid.uuid4(),
        ServiceKind.EVENT,
        90,
        capacity=5,
        min_notice_minutes=60,
        starts_at=at(12, 19),  # a Saturday evening: outside weekly hours on purpose
    )
    query = q(event, seats=(OccurrenceSeats(event.id, at(12, 19), 3),))
    [slot] = free_slots(query)
    assert (slot.start, slot.end - slot.start, slot.seats_left) == (
        at(12, 19),
        timedelta(minutes=90),
        2,
    )
    assert reason(query, at(12, 19), seats=2) is None
    assert reason(query, at(12, 19), seats=3) == "full"
    assert reason(query, at(12, 20)) == "outside_availability"
    full = q(event, seats=(OccurrenceSeats(event.id, at(12, 19), 5),))
    assert free_slots(full) == []
    assert reason(full, at(12, 19)) == "full"


def test_unknown_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        NotBookable("nope")
