"""Property tests: random schedules, zones (DST and half-hour offsets) and bookings.

Every property is checked with code independent of the engine: wall clocks come from
``zoneinfo`` through ``astimezone``, conflicts from plain datetime comparisons.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calisera.scheduling import NotBookable, check_bookable, free_slots
from calisera.scheduling.model import (
    AvailabilityQuery,
    BusyInterval,
    DateOverride,
    OccurrenceSeats,
    ProviderSchedule,
    Recurrence,
    ServiceDefinition,
    ServiceKind,
    Slot,
    TimeOff,
    WallInterval,
    WeeklyRule,
)

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/St_Johns",
    "Pacific/Chatham",
    "UTC",
]
# Days just before daylight-saving changes in the zones above, plus ordinary ones.
ANCHORS = [
    date(2026, 10, 22),  # Berlin falls back 10-25
    date(2027, 3, 25),  # Berlin springs forward 03-28
    date(2026, 10, 29),  # New York / St John's fall back 11-01
    date(2027, 3, 11),  # New York / St John's spring forward 03-14
    date(2026, 10, 1),  # Lord Howe forward 10-04
    date(2027, 4, 1),  # Lord Howe back 04-04, Chatham back 04-04
    date(2026, 9, 24),  # Chatham forward 09-27
    date(2027, 6, 10),
]
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def minutes_of_day(step: int = 15) -> st.SearchStrategy[int]:
    return st.integers(0, 1440 // step).map(lambda k: k * step)


def wall(minute: int) -> time:
    return time(0) if minute >= 1440 else time(minute // 60, minute % 60)


@st.composite
def intervals(draw: st.DrawFn) -> tuple[int, int]:
    s = draw(minutes_of_day())
    e = draw(st.integers(s // 15 + 1, 96).map(lambda k: k * 15)) if s < 1440 else 1440
    return s, e


@st.composite
def schedules(draw: st.DrawFn, anchor: date) -> ProviderSchedule:
    zone = draw(st.sampled_from(ZONES))
    weekly = []
    for weekday in range(7):
        for s, e in draw(st.lists(intervals(), max_size=2)):
            if s < e:
                weekly.append(WeeklyRule(weekday, wall(s), wall(e)))
    overrides = []
    for offset in draw(st.sets(st.integers(0, 9), max_size=3)):
        ivs = draw(st.lists(intervals(), max_size=2))
        overrides.append(
            DateOverride(
                anchor + timedelta(days=offset),
                tuple(WallInterval(wall(s), wall(e)) for s, e in ivs if s < e),
            )
        )
    time_off = []
    for _ in range(draw(st.integers(0, 2))):
        start = datetime.combine(anchor, time(0)) + timedelta(
            minutes=draw(st.integers(0, 10 * 96)) * 15
        )
        time_off.append(TimeOff(start, start + timedelta(minutes=draw(st.integers(1, 40)) * 15)))
    return ProviderSchedule(zone, tuple(weekly), tuple(overrides), tuple(time_off))


@st.composite
def simple_services(draw: st.DrawFn) -> ServiceDefinition:
    return ServiceDefinition(
        id=uuid.uuid4(),
        kind=ServiceKind.SIMPLE,
        duration_minutes=draw(st.sampled_from([15, 20, 30, 45, 60, 90])),
        slot_interval_minutes=draw(st.sampled_from([None, 10, 15, 30, 60])),
        buffer_before_minutes=draw(st.sampled_from([0, 0, 5, 15])),
        buffer_after_minutes=draw(st.sampled_from([0, 0, 10, 30])),
        min_notice_minutes=draw(st.sampled_from([0, 60, 600, 2880])),
        booking_window_days=draw(st.integers(1, 12)),
        max_bookings_per_day=draw(st.sampled_from([None, None, 1, 3])),
        max_bookings_per_week=draw(st.sampled_from([None, None, None, 2, 5])),
    )


@st.composite
def simple_queries(draw: st.DrawFn) -> AvailabilityQuery:
    anchor = draw(st.sampled_from(ANCHORS))
    schedule = draw(schedules(anchor))
    service = draw(simple_services())
    now = datetime.combine(anchor, time(0), tzinfo=UTC) + timedelta(
        seconds=draw(st.integers(-86400, 3 * 86400))
    )
    base = datetime.combine(anchor, time(0), tzinfo=UTC)
    busy = []
    for _ in range(draw(st.integers(0, 12))):
        start = base + timedelta(minutes=draw(st.integers(0, 10 * 288)) * 5)
        busy.append(
            BusyInterval(
                start,
                start + timedelta(minutes=draw(st.sampled_from([15, 30, 60]))),
                draw(st.sampled_from([0, 10])),
                draw(st.sampled_from([0, 15])),
                service_id=draw(st.sampled_from([service.id, uuid.uuid4()])),
            )
        )
    others = []
    if draw(st.booleans()):
        others.append(
            ServiceDefinition(
                uuid.uuid4(),
                ServiceKind.EVENT,
                draw(st.sampled_from([60, 120])),
                capacity=10,
                starts_at=base + timedelta(minutes=draw(st.integers(0, 10 * 96)) * 15),
            )
        )
    first = anchor + timedelta(days=draw(st.integers(-1, 3)))
    last = first + timedelta(days=draw(st.integers(0, 6)))
    return AvailabilityQuery(
        schedule,
        service,
        now,
        first,
        last,
        draw(st.sampled_from(ZONES)),
        busy=tuple(busy),
        other_services=tuple(others),
    )


def wall_intervals(schedule: ProviderSchedule, day: date) -> list[tuple[time, time | None]]:
    """Availability of ``day`` as (start, end) with None = midnight ending the day."""
    for override in schedule.overrides:
        if override.date == day:
            return [(i.start, None if i.end == time(0) else i.end) for i in override.intervals]
    return [
        (r.start, None if r.end == time(0) else r.end)
        for r in schedule.weekly
        if r.weekday == day.weekday()
    ]


def inside_availability(schedule: ProviderSchedule, slot: Slot) -> bool:
    """Every minute of the slot reads, on the provider's wall clock, as a time inside
    the availability of the slot's start date."""
    tz = ZoneInfo(schedule.timezone)
    day = slot.start.astimezone(tz).date()
    available = wall_intervals(schedule, day)
    minutes = int((slot.end - slot.start).total_seconds() // 60)
    for m in range(minutes):
        local = (slot.start + timedelta(minutes=m)).astimezone(tz)
        t = local.time()
        if local.date() != day or not any(
            start <= t and (end is None or t < end) for start, end in available
        ):
            return False
    return True


def in_time_off(schedule: ProviderSchedule, slot: Slot) -> bool:
    tz = ZoneInfo(schedule.timezone)
    minutes = int((slot.end - slot.start).total_seconds() // 60)
    for m in range(minutes):
        local = (slot.start + timedelta(minutes=m)).astimezone(tz).replace(tzinfo=None)
        if any(off.start <= local < off.end for off in schedule.time_off):
            return True
    return False


def conflicts(query: AvailabilityQuery, slot: Slot) -> bool:
    svc = query.service
    lo = slot.start - timedelta(minutes=svc.buffer_before_minutes)
    hi = slot.end + timedelta(minutes=svc.buffer_after_minutes)
    for b in query.busy:
        b_lo = b.start - timedelta(minutes=b.buffer_before_minutes)
        b_hi = b.end + timedelta(minutes=b.buffer_after_minutes)
        if lo < b_hi and b_lo < hi:
            return True
    for other in query.other_services:
        assert other.starts_at is not None
        o_hi = other.starts_at + timedelta(minutes=other.duration_minutes)
        if lo < o_hi and other.starts_at < hi:
            return True
    return False


@PROPERTY_SETTINGS
@given(simple_queries())
def test_simple_slots_respect_every_rule(query: AvailabilityQuery) -> None:
    slots = free_slots(query)
    svc = query.service
    interval = svc.slot_interval_minutes or svc.duration_minutes
    out_zone = ZoneInfo(query.output_zone)
    earliest = query.now + timedelta(minutes=svc.min_notice_minutes)
    latest = query.now + timedelta(days=svc.booking_window_days)
    for a, b in pairwise(slots):
        assert a.start < b.start
        if interval >= svc.duration_minutes:
            assert a.end <= b.start
    for slot in slots:
        assert slot.end - slot.start == timedelta(minutes=svc.duration_minutes)
        assert slot.seats_left == svc.capacity
        assert inside_availability(query.schedule, slot)
        assert not in_time_off(query.schedule, slot)
        assert not conflicts(query, slot)
        assert earliest <= slot.start <= latest
        assert slot.start.utcoffset() == slot.start.astimezone(out_zone).utcoffset()
        local_date = slot.start.astimezone(out_zone).date()
        assert query.range_start <= local_date <= query.range_end
    if svc.max_bookings_per_day is not None:
        tz = ZoneInfo(query.schedule.timezone)
        for slot in slots:
            day = slot.start.astimezone(tz).date()
            booked = sum(
                1
                for b in query.busy
                if b.service_id == svc.id and b.start.astimezone(tz).date() == day
            )
            assert booked < svc.max_bookings_per_day
    if svc.max_bookings_per_week is not None:
        tz = ZoneInfo(query.schedule.timezone)
        for slot in slots:
            week = slot.start.astimezone(tz).isocalendar()[:2]
            booked = sum(
                1
                for b in query.busy
                if b.service_id == svc.id and b.start.astimezone(tz).isocalendar()[:2] == week
            )
            assert booked < svc.max_bookings_per_week


@PROPERTY_SETTINGS
@given(simple_queries(), st.sampled_from(ZONES))
def test_output_zone_changes_offsets_never_instants(
    query: AvailabilityQuery, other_zone: str
) -> None:
    wide = AvailabilityQuery(
        query.schedule,
        query.service,
        query.now,
        query.range_start - timedelta(days=1),
        query.range_end + timedelta(days=1),
        query.output_zone,
        busy=query.busy,
        other_services=query.other_services,
    )
    narrow = AvailabilityQuery(
        query.schedule,
        query.service,
        query.now,
        query.range_start,
        query.range_end,
        other_zone,
        busy=query.busy,
        other_services=query.other_services,
    )
    tz = ZoneInfo(other_zone)
    expected = [
        (s.start, s.seats_left)
        for s in free_slots(wide)
        if query.range_start <= s.start.astimezone(tz).date() <= query.range_end
    ]
    got = free_slots(narrow)
    assert [(s.start, s.seats_left) for s in got] == expected
    for slot in got:
        assert slot.start.utcoffset() == slot.start.astimezone(tz).utcoffset()
        assert slot.end.utcoffset() == slot.end.astimezone(tz).utcoffset()


@PROPERTY_SETTINGS
@given(simple_queries(), st.lists(st.integers(0, 12 * 288), max_size=15))
def test_check_bookable_agrees_with_free_slots(query: AvailabilityQuery, probes: list[int]) -> None:
    offered = {s.start: s.seats_left for s in free_slots(query)}
    tz = ZoneInfo(query.output_zone)
    for start, seats in offered.items():
        check_bookable(query, start, seats)
        try:
            check_bookable(query, start, seats + 1)
        except NotBookable as exc:
            assert exc.reason == "full"
        else:
            raise AssertionError("one seat too many was accepted")
    base = datetime.combine(query.range_start, time(0), tzinfo=tz)
    for k in probes:
        start = (base + timedelta(minutes=5 * k)).astimezone(tz)
        if not query.range_start <= start.date() <= query.range_end:
            continue
        try:
            check_bookable(query, start, 1)
            accepted = True
        except NotBookable:
            accepted = False
        assert accepted == (start in offered), start


@st.composite
def class_queries(draw: st.DrawFn) -> AvailabilityQuery:
    anchor = draw(st.sampled_from(ANCHORS))
    zone = draw(st.sampled_from(ZONES))
    starts_on = anchor - timedelta(days=draw(st.integers(0, 20)))
    until = draw(st.none() | st.integers(0, 12).map(lambda d: anchor + timedelta(days=d)))
    days = draw(st.sets(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), min_size=1))
    exdates = tuple(anchor + timedelta(days=d) for d in draw(st.sets(st.integers(0, 9))))
    capacity = draw(st.integers(1, 5))
    service = ServiceDefinition(
        uuid.uuid4(),
        ServiceKind.CLASS,
        60,
        capacity=capacity,
        min_notice_minutes=draw(st.sampled_from([0, 120])),
        booking_window_days=draw(st.integers(2, 14)),
        recurrence=Recurrence(
            f"FREQ=WEEKLY;BYDAY={','.join(sorted(days))}",
            wall(draw(minutes_of_day(30).filter(lambda m: m < 1440))),
            starts_on,
            until,
            exdates,
        ),
    )
    now = datetime.combine(anchor, time(0), tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(-600, 2000))
    )
    first = anchor + timedelta(days=draw(st.integers(-1, 3)))
    last = first + timedelta(days=draw(st.integers(0, 9)))
    return AvailabilityQuery(
        ProviderSchedule(zone),
        service,
        now,
        first,
        last,
        draw(st.sampled_from(ZONES)),
        seats=tuple(
            OccurrenceSeats(service.id, s, draw(st.integers(1, capacity)))
            for s in draw(
                st.lists(
                    st.integers(0, 12).map(
                        lambda d: datetime.combine(
                            anchor + timedelta(days=d),
                            service.recurrence.start_time,  # type: ignore[union-attr]
                            tzinfo=ZoneInfo(zone),
                        )
                    ),
                    max_size=4,
                    unique=True,
                )
            )
        ),
    )


@PROPERTY_SETTINGS
@given(class_queries())
def test_class_occurrences_follow_the_wall_clock_rule(query: AvailabilityQuery) -> None:
    svc = query.service
    rec = svc.recurrence
    assert rec is not None
    tz = ZoneInfo(query.schedule.timezone)
    slots = free_slots(query)
    taken = {s.start: s.seats_taken for s in query.seats}
    seen_dates = set()
    for a, b in pairwise(slots):
        assert a.start < b.start
    for slot in slots:
        local = slot.start.astimezone(tz)
        assert local.time() == rec.start_time
        assert local.date() not in rec.exdates
        assert local.date() not in seen_dates
        seen_dates.add(local.date())
        assert rec.starts_on <= local.date()
        assert rec.until is None or local.date() <= rec.until
        assert slot.seats_left == svc.capacity - taken.get(slot.start, 0) > 0
        assert query.now + timedelta(minutes=svc.min_notice_minutes) <= slot.start
        assert slot.start <= query.now + timedelta(days=svc.booking_window_days)
        check_bookable(query, slot.start, slot.seats_left)
    for start, seats_taken in taken.items():
        if seats_taken >= svc.capacity:
            assert start not in {s.start for s in slots}
