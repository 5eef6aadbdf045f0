"""Table tests: daylight-saving weeks in Berlin, New York and Lord Howe (30-minute shift)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from calisera.scheduling import NotBookable, check_bookable, free_slots
from calisera.scheduling.model import (
    AvailabilityQuery,
    DateOverride,
    ProviderSchedule,
    Recurrence,
    ServiceDefinition,
    ServiceKind,
    WallInterval,
    WeeklyRule,
)

EVERY_DAY = tuple(range(7))


def simple(duration: int = 60, interval: int | None = None, **kw: object) -> ServiceDefinition:
    params: dict = {"min_notice_minutes": 0, "booking_window_days": 1000, **kw}
    return ServiceDefinition(
        uuid.uuid4(), ServiceKind.SIMPLE, duration, slot_interval_minutes=interval, **params
    )


def query(
    zone: str,
    service: ServiceDefinition,
    first: date,
    last: date,
    *,
    hours: tuple[time, time] = (time(9), time(17)),
    overrides: tuple[DateOverride, ...] = (),
    output_zone: str | None = None,
) -> AvailabilityQuery:
    schedule = ProviderSchedule(
        zone,
        weekly=tuple(WeeklyRule(d, hours[0], hours[1]) for d in EVERY_DAY),
        overrides=overrides,
    )
    return AvailabilityQuery(
        schedule,
        service,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        range_start=first,
        range_end=last,
        output_zone=output_zone or zone,
    )


def night(day: date, start: time, end: time) -> tuple[DateOverride, ...]:
    return (DateOverride(day, (WallInterval(start, end),)),)


def isoformats(slots: list) -> list[str]:
    return [s.start.isoformat() for s in slots]


@pytest.mark.parametrize(
    ("zone", "first", "change", "before", "after"),
    [
        ("Europe/Berlin", date(2027, 3, 25), date(2027, 3, 28), "+01:00", "+02:00"),
        ("Europe/Berlin", date(2026, 10, 22), date(2026, 10, 25), "+02:00", "+01:00"),
        ("America/New_York", date(2027, 3, 11), date(2027, 3, 14), "-05:00", "-04:00"),
        ("America/New_York", date(2026, 10, 29), date(2026, 11, 1), "-04:00", "-05:00"),
        ("Australia/Lord_Howe", date(2026, 10, 1), date(2026, 10, 4), "+10:30", "+11:00"),
        ("Australia/Lord_Howe", date(2027, 4, 1), date(2027, 4, 4), "+11:00", "+10:30"),
    ],
)
def test_working_hours_keep_their_local_hours_across_the_change(
    zone: str, first: date, change: date, before: str, after: str
) -> None:
    slots = free_slots(query(zone, simple(), first, first + timedelta(days=6)))
    by_day: dict[date, list[str]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.date(), []).append(slot.start.isoformat())
    assert len(by_day) == 7
    for day, starts in by_day.items():
        offset = before if day < change else after
        assert starts == [f"{day.isoformat()}T{h:02d}:00:00{offset}" for h in range(9, 17)]


def test_berlin_spring_forward_skips_the_missing_hour_without_shifting() -> None:
    day = date(2027, 3, 28)
    service = simple(30)
    q = query("Europe/Berlin", service, day, day, overrides=night(day, time(0), time(4)))
    assert isoformats(free_slots(q)) == [
        "2027-03-28T00:00:00+01:00",
        "2027-03-28T00:30:00+01:00",
        "2027-03-28T01:00:00+01:00",
        "2027-03-28T01:30:00+01:00",
        "2027-03-28T03:00:00+02:00",
        "2027-03-28T03:30:00+02:00",
    ]


def test_berlin_interval_starting_inside_the_gap_offers_no_shifted_slot() -> None:
    day = date(2027, 3, 28)
    q = query("Europe/Berlin", simple(45), day, day, overrides=night(day, time(2, 30), time(5)))
    # Grid on the wall clock from 02:30: 02:30 (missing), 03:15, 04:00 (04:45 would end 05:30).
    assert isoformats(free_slots(q)) == [
        "2027-03-28T03:15:00+02:00",
        "2027-03-28T04:00:00+02:00",
    ]


def test_berlin_fall_back_offers_both_passes_of_the_repeated_hour_without_overlap() -> None:
    day = date(2026, 10, 25)
    q = query("Europe/Berlin", simple(30), day, day, overrides=night(day, time(1), time(4)))
    slots = free_slots(q)
    assert isoformats(slots) == [
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T01:30:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:30:00+01:00",
    ]
    instants = [s.start.astimezone(UTC) for s in slots]
    assert all(b - a == timedelta(minutes=30) for a, b in pairwise(instants))


def test_fall_back_with_an_interval_not_dividing_the_hour_keeps_slots_disjoint() -> None:
    day = date(2026, 10, 25)
    q = query("Europe/Berlin", simple(45), day, day, overrides=night(day, time(1), time(4)))
    slots = free_slots(q)
    for a, b in pairwise(slots):
        assert a.end <= b.start
    assert len({s.start for s in slots}) == len(slots)


def test_new_york_spring_forward_night_slots() -> None:
    day = date(2027, 3, 14)
    q = query("America/New_York", simple(60), day, day, overrides=night(day, time(0), time(5)))
    assert isoformats(free_slots(q)) == [
        "2027-03-14T00:00:00-05:00",
        "2027-03-14T01:00:00-05:00",
        "2027-03-14T03:00:00-04:00",
        "2027-03-14T04:00:00-04:00",
    ]


def test_lord_howe_half_hour_spring_forward() -> None:
    day = date(2026, 10, 4)
    q = query(
        "Australia/Lord_Howe", simple(30), day, day, overrides=night(day, time(1), time(3, 30))
    )
    assert isoformats(free_slots(q)) == [
        "2026-10-04T01:00:00+10:30",
        "2026-10-04T01:30:00+10:30",
        "2026-10-04T02:30:00+11:00",
        "2026-10-04T03:00:00+11:00",
    ]


def test_lord_howe_half_hour_fall_back_repeats_half_an_hour_once() -> None:
    day = date(2027, 4, 4)
    q = query("Australia/Lord_Howe", simple(30), day, day, overrides=night(day, time(1), time(3)))
    assert isoformats(free_slots(q)) == [
        "2027-04-04T01:00:00+11:00",
        "2027-04-04T01:30:00+11:00",
        "2027-04-04T01:30:00+10:30",
        "2027-04-04T02:00:00+10:30",
        "2027-04-04T02:30:00+10:30",
    ]


def test_output_zone_changes_offsets_not_instants() -> None:
    service = simple()
    berlin = free_slots(query("Europe/Berlin", service, date(2027, 3, 29), date(2027, 3, 29)))
    kolkata = free_slots(
        query(
            "Europe/Berlin",
            service,
            date(2027, 3, 29),
            date(2027, 3, 29),
            output_zone="Asia/Kolkata",
        )
    )
    assert [s.start for s in kolkata] == [s.start for s in berlin]
    assert kolkata[0].start.isoformat() == "2027-03-29T12:30:00+05:30"
    assert berlin[0].start.isoformat() == "2027-03-29T09:00:00+02:00"


def test_class_at_a_missing_time_is_skipped_and_a_repeated_time_happens_once() -> None:
    service = ServiceDefinition(
        uuid.uuid4(),
        ServiceKind.CLASS,
        60,
        capacity=8,
        min_notice_minutes=0,
        booking_window_days=1000,
        recurrence=Recurrence(
            "FREQ=WEEKLY;BYDAY=SU",
            time(2, 30),
            date(2026, 10, 18),
            until=date(2027, 4, 4),
            exdates=(date(2026, 11, 1),),
        ),
    )
    q = query("Europe/Berlin", service, date(2026, 10, 18), date(2027, 4, 30))
    starts = isoformats(free_slots(q))
    assert starts[:3] == [
        "2026-10-18T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-11-08T02:30:00+01:00",
    ]
    assert "2027-03-21T02:30:00+01:00" in starts
    assert not any(s.startswith("2027-03-28") for s in starts)
    assert starts[-1] == "2027-04-04T02:30:00+02:00"
    assert len(starts) == 25 - 2  # 25 Sundays, minus the exdate and the missing 02:30


def test_check_bookable_rejects_the_instant_after_a_skipped_slot() -> None:
    day = date(2027, 3, 28)
    q = query("Europe/Berlin", simple(30), day, day, overrides=night(day, time(0), time(4)))
    berlin = ZoneInfo("Europe/Berlin")
    check_bookable(q, datetime(2027, 3, 28, 3, 0, tzinfo=berlin), 1)
    # 00:15Z is 01:15 CET: between grid points.
    with pytest.raises(NotBookable) as err:
        check_bookable(q, datetime(2027, 3, 28, 0, 15, tzinfo=UTC), 1)
    assert err.value.reason == "misaligned"
