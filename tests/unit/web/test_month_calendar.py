"""The booking page's month calendar: which month, which days, which day is chosen."""

from __future__ import annotations

from datetime import date

from calisera.web import month_calendar as mc

TODAY = date(2026, 12, 2)  # a Wednesday
WINDOW_END = date(2027, 1, 31)


def test_a_month_is_monday_first_rows_padded_with_other_months() -> None:
    view = mc.month_view(
        date(2026, 12, 1), {}, requested=None, today=TODAY, last_bookable=WINDOW_END
    )
    assert view.title == "December 2026"
    assert [d.day.day if d else None for d in view.weeks[0]] == [None, 1, 2, 3, 4, 5, 6]
    assert view.weeks[-1][3] is not None and view.weeks[-1][3].day == date(2026, 12, 31)
    assert view.weeks[-1][4:] == (None, None, None)
    assert all(len(week) == 7 for week in view.weeks)


def test_the_chosen_day_is_the_requested_free_day_else_the_first_free_one() -> None:
    free = {date(2026, 12, 9): 3, date(2026, 12, 4): 1, date(2026, 12, 5): 0}
    first = mc.month_view(
        date(2026, 12, 1), free, requested=None, today=TODAY, last_bookable=WINDOW_END
    )
    assert first.selected == date(2026, 12, 4)
    asked = mc.month_view(
        date(2026, 12, 1), free, requested=date(2026, 12, 9), today=TODAY, last_bookable=WINDOW_END
    )
    assert asked.selected == date(2026, 12, 9)
    # a day with nothing free (taken meanwhile) falls back to the first free one
    gone = mc.month_view(
        date(2026, 12, 1), free, requested=date(2026, 12, 5), today=TODAY, last_bookable=WINDOW_END
    )
    assert gone.selected == date(2026, 12, 4)
    days = [d for week in asked.weeks for d in week if d is not None]
    assert [d.day for d in days if d.selected] == [date(2026, 12, 9)]
    assert [d.day for d in days if d.today] == [TODAY]
    nine = next(d for d in days if d.day == date(2026, 12, 9))
    assert nine.label == "Wednesday, 9 December, 3 free times"
    assert next(d for d in days if d.day.day == 4).label == "Friday, 4 December, 1 free time"


def test_an_empty_month_selects_nothing() -> None:
    view = mc.month_view(
        date(2026, 12, 1), {}, requested=TODAY, today=TODAY, last_bookable=WINDOW_END
    )
    assert view.selected is None and not view.has_free_time


def test_arrows_stay_between_this_month_and_the_booking_window() -> None:
    dec = mc.month_view(
        date(2026, 12, 1), {}, requested=None, today=TODAY, last_bookable=WINDOW_END
    )
    assert dec.previous is None and dec.following == date(2027, 1, 1)
    jan = mc.month_view(date(2027, 1, 1), {}, requested=None, today=TODAY, last_bookable=WINDOW_END)
    assert jan.previous == date(2026, 12, 1) and jan.following is None


def test_the_shown_month_is_clamped_and_odd_input_is_ignored() -> None:
    assert mc.shown_month(None, None, TODAY, WINDOW_END) == date(2026, 12, 1)
    assert mc.shown_month(date(2020, 1, 1), None, TODAY, WINDOW_END) == date(2026, 12, 1)
    assert mc.shown_month(date(2031, 5, 1), None, TODAY, WINDOW_END) == date(2027, 1, 1)
    assert mc.shown_month(None, date(2027, 1, 20), TODAY, WINDOW_END) == date(2027, 1, 1)
    for odd in ("2026-13", "2026-1", "", "x" * 10_000, "2026-12\x00", "12-2026"):
        assert mc.parse_month(odd) is None, odd
    assert mc.parse_month("2027-02") == date(2027, 2, 1)


def test_only_bookable_days_of_a_month_are_asked_for() -> None:
    assert mc.bookable_range(date(2026, 12, 1), TODAY, WINDOW_END) == (TODAY, date(2026, 12, 31))
    end = date(2027, 1, 10)
    assert mc.bookable_range(date(2027, 1, 1), TODAY, end) == (date(2027, 1, 1), end)


def test_february_of_a_leap_year() -> None:
    view = mc.month_view(
        date(2028, 2, 1), {}, requested=None, today=date(2028, 1, 5), last_bookable=date(2028, 6, 1)
    )
    assert max(d.day for week in view.weeks for d in week if d is not None) == date(2028, 2, 29)
