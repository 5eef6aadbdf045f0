"""Busy time out of calendar data: recurrences, all-day and floating times in the
calendar's (or provider's) zone, free and cancelled events, our own events, junk."""

from __future__ import annotations

from datetime import UTC, datetime

from calisera.integrations.caldav_busy import busy_intervals, merge

START = datetime(2027, 3, 1, tzinfo=UTC)
END = datetime(2027, 4, 30, tzinfo=UTC)


def cal(*events: str, extra: str = "") -> str:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:e{i}@x\r\nDTSTAMP:20270101T000000Z\r\n{e}END:VEVENT\r\n"
        for i, e in enumerate(events)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{extra}{body}END:VCALENDAR\r\n"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_all_day_event_blocks_the_providers_local_day():
    found = busy_intervals(
        [cal("DTSTART;VALUE=DATE:20270310\r\nDTEND;VALUE=DATE:20270311\r\n")],
        START,
        END,
        default_zone="Europe/Berlin",
    )
    assert found == [(utc(2027, 3, 9, 23), utc(2027, 3, 10, 23))]


def test_all_day_without_dtend_is_one_day_and_calendar_zone_wins():
    found = busy_intervals(
        [cal("DTSTART;VALUE=DATE:20270310\r\n", extra="X-WR-TIMEZONE:America/New_York\r\n")],
        START,
        END,
        default_zone="Europe/Berlin",
    )
    assert found == [(utc(2027, 3, 10, 5), utc(2027, 3, 11, 5))]


def test_weekly_recurrence_with_exdate_across_a_dst_change():
    event = (
        "DTSTART;TZID=Europe/Berlin:20270322T090000\r\n"
        "DTEND;TZID=Europe/Berlin:20270322T100000\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=3\r\n"
        "EXDATE;TZID=Europe/Berlin:20270329T090000\r\n"
    )
    found = busy_intervals([cal(event)], START, END)
    # 22 March is CET (UTC+1), 5 April CEST (UTC+2); 29 March is excluded
    assert found == [
        (utc(2027, 3, 22, 8), utc(2027, 3, 22, 9)),
        (utc(2027, 4, 5, 7), utc(2027, 4, 5, 8)),
    ]


def test_floating_time_and_duration_are_read_in_the_default_zone():
    found = busy_intervals(
        [cal("DTSTART:20270310T120000\r\nDURATION:PT90M\r\n")],
        START,
        END,
        default_zone="Asia/Tokyo",
    )
    assert found == [(utc(2027, 3, 10, 3), utc(2027, 3, 10, 4, 30))]


def test_free_cancelled_own_and_broken_events_block_nothing():
    free = "DTSTART:20270310T120000Z\r\nDTEND:20270310T130000Z\r\nTRANSP:TRANSPARENT\r\n"
    cancelled = "DTSTART:20270311T120000Z\r\nDTEND:20270311T130000Z\r\nSTATUS:CANCELLED\r\n"
    own = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:b1@calisera\r\n"
        "DTSTAMP:20270101T000000Z\r\nDTSTART:20270312T120000Z\r\nDTEND:20270312T130000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert (
        busy_intervals([cal(free, cancelled), own, "not a calendar\x00", b"\xff\xfe"], START, END)
        == []
    )


def test_events_are_clipped_to_the_window_and_merged():
    found = busy_intervals(
        [
            cal(
                "DTSTART:20270228T220000Z\r\nDTEND:20270301T020000Z\r\n",
                "DTSTART:20270301T010000Z\r\nDTEND:20270301T030000Z\r\n",
            )
        ],
        START,
        END,
    )
    assert found == [(START, utc(2027, 3, 1, 3))]
    assert merge(
        [(utc(2027, 1, 1, 2), utc(2027, 1, 1, 3)), (utc(2027, 1, 1, 1), utc(2027, 1, 1, 2))]
    ) == [(utc(2027, 1, 1, 1), utc(2027, 1, 1, 3))]
