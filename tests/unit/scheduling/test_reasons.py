"""explain: why a time is not offered, by the same engine as the slots.

The property: over random schedules, zones (daylight-saving days included), bookings,
buffers, limits, events and classes, a time is offered by ``free_slots`` if and only
if ``explain`` gives no reason, and an offered time asked for one seat more is "full".
The table: each reason on one ordinary Berlin week.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calisera.scheduling import EXPLANATIONS, explain, free_slots
from calisera.scheduling.model import (
    AvailabilityQuery,
    BusyInterval,
    DateOverride,
    OccurrenceSeats,
    ProviderSchedule,
    ServiceDefinition,
    ServiceKind,
    TimeOff,
    WallInterval,
    WeeklyRule,
)
from tests.unit.scheduling.test_properties import PROPERTY_SETTINGS, class_queries, simple_queries


def _probe_agreement(query: AvailabilityQuery, probes: list[int]) -> None:
    # keyed by UTC: an aware time in a repeated hour (clocks going back) never equals one
    # of another tzinfo (PEP 495), so a local key would miss a slot that is offered
    offered = {s.start.astimezone(UTC): s.seats_left for s in free_slots(query)}
    for start, seats in offered.items():
        assert explain(query, start, seats) is None, start
        assert explain(query, start, seats + 1) == "full", start
    tz = ZoneInfo(query.output_zone)
    base = datetime.combine(query.range_start, time(0), tzinfo=tz)
    for k in probes:
        start = (base + timedelta(minutes=5 * k)).astimezone(tz)
        if not query.range_start <= start.date() <= query.range_end:
            continue
        reason = explain(query, start)
        assert reason is None or reason in EXPLANATIONS
        assert (reason is None) == (start.astimezone(UTC) in offered), (start, reason)


@PROPERTY_SETTINGS
@given(simple_queries(), st.lists(st.integers(0, 12 * 288), max_size=20))
def test_a_simple_time_is_offered_iff_it_has_no_reason(query, probes) -> None:
    _probe_agreement(query, probes)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(simple_queries())
def test_every_five_minutes_of_the_range_is_offered_iff_it_has_no_reason(query) -> None:
    """Exhaustive over the query's dates: each 5-minute start, no sampling."""
    days = (query.range_end - query.range_start).days + 1
    _probe_agreement(query, list(range(days * 288)))


@PROPERTY_SETTINGS
@given(class_queries(), st.lists(st.integers(0, 12 * 288), max_size=20))
def test_a_class_time_is_offered_iff_it_has_no_reason(query, probes) -> None:
    _probe_agreement(query, probes)
    for slot in free_slots(query):
        assert explain(query, slot.start) is None


@PROPERTY_SETTINGS
@given(simple_queries())
def test_a_suspended_provider_offers_nothing_and_says_so(query) -> None:
    suspended = replace(query, schedule=replace(query.schedule, suspended=True))
    assert free_slots(suspended) == []
    for slot in free_slots(query):
        assert explain(suspended, slot.start) == "provider_suspended"


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
    max_bookings_per_day=3,
)
SCHEDULE = ProviderSchedule(
    "Europe/Berlin",
    weekly=tuple(WeeklyRule(d, time(9), time(17)) for d in range(5)),
    overrides=(DateOverride(date(2027, 6, 10), (WallInterval(time(13), time(15)),)),),
    time_off=(TimeOff(datetime(2027, 6, 9, 12), datetime(2027, 6, 9, 14)),),
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 6, day, hour, minute, tzinfo=BERLIN)


def booked(day: int, hour: int, minute: int = 0, service: uuid.UUID = SERVICE.id) -> BusyInterval:
    start = at(day, hour, minute)
    return BusyInterval(start, start + timedelta(minutes=30), 10, 10, service)


QUERY = AvailabilityQuery(
    SCHEDULE,
    SERVICE,
    NOW,
    date(2027, 6, 7),
    date(2027, 6, 20),
    "Europe/Berlin",
    busy=(
        booked(8, 10),
        booked(11, 9),
        booked(11, 10),
        booked(11, 11),
    ),
)


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        (at(7, 7), "in_past"),
        (at(7, 9), "too_soon"),
        (at(22, 10), "too_far"),
        (at(12, 10), "outside_hours"),  # a Saturday
        (at(8, 18), "outside_hours"),
        (at(10, 10), "override"),  # that date opens only 13:00-15:00
        (at(8, 10, 15), "misaligned"),
        (at(11, 14), "daily_limit"),
        (at(8, 10), "booked"),
        (at(9, 12, 30), "time_off"),
        (at(8, 10, 30), "buffer"),  # the 10:00 booking's 10 minutes after
        (at(8, 9, 30), "buffer"),  # before it
        (at(8, 11), None),
        (at(10, 13), None),
    ],
)
def test_each_reason_on_an_ordinary_week(start: datetime, reason: str | None) -> None:
    assert explain(QUERY, start) == reason
    offered = {s.start for s in free_slots(QUERY)}
    assert (start in offered) == (reason is None)


def test_archived_service_and_group_reasons() -> None:
    assert explain(replace(QUERY, service=replace(SERVICE, active=False)), at(8, 11)) == (
        "inactive"
    )
    event = ServiceDefinition(
        uuid.uuid4(), ServiceKind.EVENT, 60, capacity=2, starts_at=at(15, 18), min_notice_minutes=0
    )
    q = replace(QUERY, service=event, busy=(), seats=(OccurrenceSeats(event.id, at(15, 18), 2),))
    assert explain(q, at(15, 18)) == "full"
    assert explain(q, at(15, 19)) == "not_scheduled"
    q = replace(QUERY, service=event, busy=(booked(15, 18, 30, service=SERVICE.id),))
    assert explain(q, at(15, 18)) == "booked"
    assert explain(replace(q, busy=(booked(15, 19, 5, service=SERVICE.id),)), at(15, 18)) == (
        "buffer"
    )
