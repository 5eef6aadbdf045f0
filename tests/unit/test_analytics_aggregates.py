"""The pure math of analytics: folds, contributions, hours, seats, customers, totals."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calisera.analytics import capacity, contributions, customers, facts, totals
from calisera.bookings.events import BookingData
from calisera.scheduling import open_minutes

SECRET = b"k" * 32
P = uuid.uuid4()
S = uuid.uuid4()
B = uuid.uuid4()
T0 = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)
START = datetime(2027, 3, 20, 9, 0, tzinfo=UTC)


def observe(event_type: str, version: int, at: datetime, **data: object) -> dict:
    """The observation of a booking event whose data the bookings' model built."""
    base = {
        "booking_id": str(B),
        "provider_id": str(P),
        "provider_name": "Studio",
        "service_id": str(S),
        "service_kind": "simple",
        "service_name": "Haircut",
        "provider_timezone": "Europe/Berlin",
        "start": START.isoformat(),
        "end": (START + timedelta(hours=1)).isoformat(),
        "seats": 1,
        "status": "confirmed",
        "created_at": T0.isoformat(),
        "customer": {"name": "Ann", "email": "ann@example.com"},
        "actor": "customer",
    }
    return facts.observe_booking(
        event_type=event_type,
        aggregate_version=version,
        occurred_at=at,
        data=BookingData.model_validate(base | data),
        secret=SECRET,
    )


LIFECYCLE = [
    observe(
        "booking.created",
        1,
        T0,
        start=START.isoformat(),
        end=(START + timedelta(hours=1)).isoformat(),
        customer={
            "name": "Ann",
            "email": "Ann@Example.com",
            "phone": "+44 20 7946 0958",
            "timezone": "Europe/London",
        },
        status="confirmed",
    ),
    observe(
        "booking.rescheduled",
        2,
        T0 + timedelta(days=1),
        start=(START + timedelta(days=1)).isoformat(),
        end=(START + timedelta(days=1, hours=1)).isoformat(),
        previous_start=START.isoformat(),
        status="confirmed",
    ),
    observe(
        "booking.cancelled",
        3,
        T0 + timedelta(days=2),
        start=(START + timedelta(days=1)).isoformat(),
        end=(START + timedelta(days=1, hours=1)).isoformat(),
        status="cancelled",
        reason="ill",
    ),
]


def test_fold_is_the_same_in_every_order_and_with_duplicates() -> None:
    expected = facts.fold_booking(B, LIFECYCLE)
    for order in itertools.permutations([*LIFECYCLE, LIFECYCLE[0]]):
        assert facts.fold_booking(B, order) == expected
    assert expected.status == "cancelled"
    assert expected.start == START + timedelta(days=1)
    assert expected.created_at == T0
    assert expected.cancelled_at == T0 + timedelta(days=2)
    assert len(expected.reschedules) == 1
    assert expected.customer_country == "GB"


def test_observation_keeps_no_personal_data_but_a_keyed_hash_of_the_lowercased_email() -> None:
    obs = LIFECYCLE[0]
    assert "Ann" not in repr(obs) and "@" not in repr(obs) and "7946" not in repr(obs)
    assert obs["customer_key"] == customers.customer_key(SECRET, "ann@example.com ")
    assert obs["customer_key"] != customers.customer_key(b"other", "ann@example.com")


def test_cancelled_booking_contributes_created_cancelled_and_reschedule_but_no_held_time() -> None:
    amounts = contributions.contributions(facts.fold_booking(B, LIFECYCLE))
    day = date(2027, 3, 10)
    assert amounts[("stat", P, S, day, "created")] == 1
    assert amounts[("stat", P, S, date(2027, 3, 12), "cancelled")] == 1
    assert amounts[("stat", P, S, date(2027, 3, 11), "rescheduled")] == 1
    # 9 days 1 hour notice before the (rescheduled) start
    assert amounts[("bucket", P, S, date(2027, 3, 12), "cancel_notice", "7d-30d")] == 1
    assert not any(k[-1] in ("bookings", "booked_minutes") for k in amounts if k[0] == "stat")


def test_delta_from_old_to_new_fact_subtracts_what_the_old_one_added() -> None:
    old = facts.fold_booking(B, LIFECYCLE[:1])
    new = facts.fold_booking(B, LIFECYCLE)
    delta = contributions.contribution_delta(old, new)
    start_day = date(2027, 3, 20)
    assert delta[("stat", P, S, start_day, "bookings")] == -1
    assert delta[("stat", P, S, start_day, "booked_minutes")] == -60
    total = contributions.contributions(old)
    for key, amount in delta.items():
        total[key] += amount
    assert +total == contributions.contributions(new)


def test_days_are_provider_local() -> None:
    late = observe("booking.created", 1, datetime(2027, 3, 9, 23, 30, tzinfo=UTC))
    amounts = contributions.contributions(facts.fold_booking(B, [late]))
    assert ("stat", P, S, date(2027, 3, 10), "created") in amounts  # 00:30 in Berlin


@pytest.mark.parametrize(
    ("minutes", "bucket"),
    [(-5, "0-1h"), (0, "0-1h"), (59, "0-1h"), (60, "1h-1d"), (4320, "3d-7d"), (10**6, "30d+")],
)
def test_lead_time_buckets(minutes: int, bucket: str) -> None:
    assert contributions.bucket_of(minutes) == bucket


def test_available_minutes_follow_weekly_rules_overrides_time_off_and_dst() -> None:
    hours = capacity.provider_hours(
        {
            "weekly": [
                {"weekday": 0, "start": "09:00", "end": "12:00"},
                {"weekday": 0, "start": "11:00", "end": "17:00"},  # overlaps: merged
                {"weekday": 6, "start": "00:00", "end": "06:00"},
                {"weekday": 5, "start": "22:00:00", "end": "00:00:00"},  # to midnight
            ],
            "overrides": [{"date": "2027-03-15", "intervals": []}],
            "time_off": [{"start": "2027-03-22T12:00:00", "end": "2027-03-22T14:00:00"}],
        },
        "Europe/Berlin",
    )
    assert hours is not None
    minutes = open_minutes(hours, date(2027, 3, 8), date(2027, 3, 28))
    assert minutes[date(2027, 3, 8)] == 480  # Monday
    assert minutes[date(2027, 3, 9)] == 0  # Tuesday: no rule
    assert minutes[date(2027, 3, 15)] == 0  # override: day off
    assert minutes[date(2027, 3, 22)] == 360  # two hours off
    assert minutes[date(2027, 3, 20)] == 120  # Saturday, 22:00 to midnight
    assert minutes[date(2027, 3, 21)] == 360  # Sunday, normal
    assert minutes[date(2027, 3, 28)] == 300  # DST starts 02:00 -> 03:00


def test_unknown_zone_counts_hours_in_utc_and_an_unreadable_document_none() -> None:
    rule = {"weekday": 0, "start": "09:00", "end": "10:00"}
    hours = capacity.provider_hours({"weekly": [rule]}, "Mars/Base")
    assert hours is not None and hours.timezone == "UTC"
    assert open_minutes(hours, date(2027, 3, 8), date(2027, 3, 8)) == {date(2027, 3, 8): 60}
    assert capacity.provider_hours({"weekly": [{"weekday": 0}]}, "UTC") is None


def test_class_and_event_seats_offered_per_local_day() -> None:
    cls = capacity.ServiceOffer(
        service_id=S,
        kind="class",
        capacity=5,
        recurrence={
            "rrule": "FREQ=WEEKLY;BYDAY=TU,TH",
            "start_time": "18:00",
            "starts_on": "2027-03-01",
            "until": "2027-03-25",
            "exdates": ["2027-03-04"],
        },
    )
    seats = cls.seats_offered(date(2027, 3, 1), date(2027, 3, 31), "Europe/Berlin")
    assert sorted(seats) == [
        date(2027, 3, 2),
        date(2027, 3, 9),
        date(2027, 3, 11),
        date(2027, 3, 16),
        date(2027, 3, 18),
        date(2027, 3, 23),
        date(2027, 3, 25),
    ]
    assert set(seats.values()) == {5}
    event = capacity.ServiceOffer(
        service_id=S, kind="event", capacity=12, starts_at=datetime(2027, 3, 5, 23, 30, tzinfo=UTC)
    )
    assert event.seats_offered(date(2027, 3, 1), date(2027, 3, 31), "Europe/Berlin") == {
        date(2027, 3, 6): 12
    }
    archived = capacity.ServiceOffer(
        service_id=S,
        kind="event",
        capacity=12,
        starts_at=datetime(2027, 3, 5, 23, 30, tzinfo=UTC),
        archived_at=datetime(2027, 3, 1, tzinfo=UTC),
    )
    assert not archived.seats_offered(date(2027, 3, 1), date(2027, 3, 31), "UTC")


def test_customer_mix_new_returning_repeat_and_places() -> None:
    def at(day: int) -> datetime:
        return datetime(2027, 3, day, 12, tzinfo=UTC)

    mix = customers.customer_mix(
        [
            customers.CustomerBooking("a", at(1), "Europe/London", "GB"),  # before: a returns
            customers.CustomerBooking("a", at(12), "Europe/London", "GB"),
            customers.CustomerBooking("b", at(12), None, "DE"),  # new, once
            customers.CustomerBooking("c", at(11), "America/New_York", None),  # new, twice
            customers.CustomerBooking("c", at(14), "America/New_York", "US"),
            customers.CustomerBooking("d", at(25), "Asia/Tokyo", "JP"),  # after the period
        ],
        at(10),
        at(20),
    )
    assert (mix.new, mix.returning) == (2, 1)
    assert mix.repeat_rate == round(2 / 3, 4)
    assert list(mix.timezones.items()) == [
        ("America/New_York", 1),
        ("Europe/London", 1),
        ("unknown", 1),
    ]
    assert list(mix.countries.items()) == [("DE", 1), ("GB", 1), ("US", 1)]


def test_series_groups_weeks_from_monday_and_months() -> None:
    by_day = {}
    for d in totals.days(date(2027, 2, 26), date(2027, 3, 9)):
        t = totals.DayTotals(bookings_created=1, cancelled=d.day % 2)
        by_day[d] = t
    weeks = totals.series(by_day, "bookings_created", "week")
    assert weeks == [(date(2027, 2, 22), 3), (date(2027, 3, 1), 7), (date(2027, 3, 8), 2)]
    months = totals.series(by_day, "cancellation_rate", "month")
    assert months[0] == (date(2027, 2, 1), round(1 / 3, 4))


def test_country_from_phone_numbers() -> None:
    assert customers.country_of("+1 212 555 0100") == "US"
    assert customers.country_of("+49 30 901820") == "DE"
    assert customers.country_of("0301234567") is None
    assert customers.country_of("not a number") is None


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_order_with_duplicates_gives_the_same_fact_and_aggregates(data: st.DataObject) -> None:
    """Events applied one by one through deltas (as the consumer does) in any order, with
    duplicates ignored, end where a from-scratch computation ends."""
    stream = data.draw(st.permutations([*LIFECYCLE, *LIFECYCLE[:2]]))
    seen: list[dict] = []
    total: Counter = Counter()
    for obs in stream:
        if any(o["version"] == obs["version"] and o["type"] == obs["type"] for o in seen):
            continue
        old = facts.fold_booking(B, seen) if seen else None
        seen.append(obs)
        delta = contributions.contribution_delta(old, facts.fold_booking(B, seen))
        for key, amount in delta.items():
            total[key] += amount
    assert {k: v for k, v in total.items() if v} == dict(
        contributions.contributions(facts.fold_booking(B, LIFECYCLE))
    )


def test_merge_fields_keeps_the_newest_statement_of_each_field_in_any_order() -> None:
    events = [
        (1, {"name": "Yoga", "capacity": 5, "kind": "class"}),
        (2, {"capacity": 8, "name": None}),
        (3, {"archived_at": "2027-03-15T12:00:00+00:00"}),
    ]
    results = set()
    for order in itertools.permutations(events):
        fields: dict = {}
        for version, updates in order:
            fields = facts.merge_fields(fields, version, updates)
        results.add(tuple(sorted(facts.field_values(fields).items())))
    assert results == {
        (
            ("archived_at", "2027-03-15T12:00:00+00:00"),
            ("capacity", 8),
            ("kind", "class"),
            ("name", "Yoga"),
        )
    }
