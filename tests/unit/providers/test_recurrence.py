"""Class recurrence rules: what is accepted, normalised and refused (pure, no database)."""

from __future__ import annotations

from datetime import date, time

import pytest

from calisera.providers.recurrence import InvalidRecurrence, normalize_recurrence

START = (time(18, 0), date(2026, 12, 1))


def normalize(rule: str, until: date | None = None):
    return normalize_recurrence(rule, *START, until)


@pytest.mark.parametrize(
    ("rule", "canonical"),
    [
        ("FREQ=WEEKLY;BYDAY=TU,TH", "FREQ=WEEKLY;BYDAY=TU,TH"),
        ("rrule:freq=weekly;interval=2;byday=mo", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("FREQ=MONTHLY;BYDAY=1MO", "FREQ=MONTHLY;BYDAY=1MO"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;BYMONTHDAY=31"),
        ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24"),
        ("FREQ=WEEKLY;COUNT=10", "FREQ=WEEKLY;COUNT=10"),
    ],
)
def test_accepted_rules_are_canonical(rule, canonical):
    assert normalize(rule).rrule == canonical


def test_until_in_rule_moves_to_until_field():
    result = normalize("FREQ=WEEKLY;UNTIL=20270630T235959Z")
    assert (result.rrule, result.until) == ("FREQ=WEEKLY", date(2027, 6, 30))
    same = normalize("FREQ=WEEKLY;UNTIL=20270630", until=date(2027, 6, 30))
    assert same.until == date(2027, 6, 30)


@pytest.mark.parametrize(
    ("rule", "until", "field", "words"),
    [
        ("FREQ=HOURLY", None, "rrule", "not finer than DAILY"),
        ("FREQ=MINUTELY", None, "rrule", "not finer than DAILY"),
        ("FREQ=SECONDLY", None, "rrule", "not finer than DAILY"),
        ("BYDAY=MO", None, "rrule", "FREQ is required"),
        ("FREQ=WEEKLY;BYHOUR=9,10", None, "rrule", "BYHOUR"),
        ("FREQ=DAILY;BYMINUTE=0,30", None, "rrule", "BYMINUTE"),
        ("FREQ=YEARLY;BYYEARDAY=1", None, "rrule", "BYYEARDAY"),
        ("DTSTART=20261201T180000;FREQ=DAILY", None, "rrule", "DTSTART"),
        ("DTSTART:20261201T180000\nRRULE:FREQ=DAILY", None, "rrule", "single RRULE"),
        ("FREQ=WEEKLY;FREQ=DAILY", None, "rrule", "twice"),
        ("FREQ=WEEKLY;BYDAY=XX", None, "rrule", "not a valid RRULE"),
        ("FREQ=WEEKLY;INTERVAL=0", None, "rrule", "INTERVAL"),
        ("FREQ=WEEKLY;INTERVAL=abc", None, "rrule", "integers"),
        ("FREQ=WEEKLY;COUNT=5;UNTIL=20270101", None, "rrule", "COUNT and UNTIL"),
        ("FREQ=WEEKLY;UNTIL=20270101", date(2027, 2, 1), "until", "conflicts"),
        ("FREQ=WEEKLY;UNTIL=2027", None, "rrule", "UNTIL"),
        ("FREQ=WEEKLY", date(2026, 11, 30), "until", "before starts_on"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", None, "rrule", "never occurs"),
        ("FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31", None, "rrule", "never occurs"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", None, "rrule", "WEEKLY"),
        ("FREQ=WEEKLY;BYDAY=1MO", None, "rrule", "position"),
        ("FREQ=MONTHLY;BYDAY=1MO;BYMONTHDAY=15", None, "rrule", "positioned"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", None, "rrule", "BYSETPOS"),
        ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=1", None, "rrule", "BYSETPOS"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", None, "rrule", "first year"),
        ("FREQ", None, "rrule", "NAME=VALUE"),
    ],
)
def test_refused_rules_name_the_field(rule, until, field, words):
    with pytest.raises(InvalidRecurrence) as err:
        normalize(rule, until)
    assert err.value.error.field == f"recurrence.{field}"
    assert words in err.value.error.message


def test_daily_rule_is_at_most_366_a_year():
    # A daily class is the densest accepted rule: exactly one occurrence per day.
    assert normalize("FREQ=DAILY").rrule == "FREQ=DAILY"
