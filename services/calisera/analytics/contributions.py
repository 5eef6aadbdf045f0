"""What each booking fact adds to the stored aggregates (plain values, no I/O).

The stored aggregates (``daily_stats``, ``daily_buckets``) are the sum of
:func:`contributions` of every booking fact; the consumer applies
``contributions(new) - contributions(old)`` and a rebuild sums them from scratch — both
give the same rows.

Attribution (what day a booking counts on, all in the provider's zone carried by the
booking events):

- ``created`` and the lead-time histogram: the day the booking was made;
- ``cancelled`` and the cancellation-notice histogram: the day it was cancelled;
- ``rescheduled``: the day of each reschedule;
- ``bookings`` (held, i.e. not cancelled), ``completed``, ``no_show``, ``seats_booked``,
  ``booked_minutes`` and the weekday/hour heatmap: the day of the appointment.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from calisera.analytics.facts import HELD_STATUSES, BookingFact
from calisera.analytics.instants import local_day, minutes_between, zone

NO_SERVICE = uuid.UUID(int=0)
"""Service id used for bookings whose events name no service (kept, never dropped)."""

STAT_COLUMNS = (
    "created",
    "cancelled",
    "rescheduled",
    "completed",
    "no_show",
    "bookings",
    "seats_booked",
    "booked_minutes",
    "lead_time_minutes",
    "cancel_notice_minutes",
)

LEAD_TIME_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-1h", 60),
    ("1h-1d", 24 * 60),
    ("1d-3d", 3 * 24 * 60),
    ("3d-7d", 7 * 24 * 60),
    ("7d-30d", 30 * 24 * 60),
    ("30d+", None),
)
"""Histogram buckets of minutes, upper bound exclusive; negative minutes go to the first."""

DIMENSIONS = ("lead_time", "cancel_notice", "start_hour")


def bucket_of(minutes: int, buckets: Sequence[tuple[str, int | None]] = LEAD_TIME_BUCKETS) -> str:
    for name, upper in buckets:
        if upper is None or minutes < upper:
            return name
    return buckets[-1][0]


StatKey = tuple[str, uuid.UUID, uuid.UUID, date, str]
"""("stat", provider, service, day, column)"""
BucketKey = tuple[str, uuid.UUID, uuid.UUID, date, str, str]
"""("bucket", provider, service, day, dimension, bucket)"""


def contributions(fact: BookingFact | None) -> Counter[tuple[Any, ...]]:
    """What one booking adds to ``daily_stats`` and ``daily_buckets``."""
    out: Counter[tuple[Any, ...]] = Counter()
    if fact is None or fact.provider_id is None:
        return out
    p, s, tz = fact.provider_id, fact.service_id or NO_SERVICE, fact.provider_timezone

    def stat(day: date, column: str, amount: int = 1) -> None:
        out[("stat", p, s, day, column)] += amount

    def bucket(day: date, dimension: str, name: str) -> None:
        out[("bucket", p, s, day, dimension, name)] += 1

    if fact.created_at is not None:
        day = local_day(fact.created_at, tz)
        stat(day, "created")
        if fact.start is not None:
            lead = max(0, minutes_between(fact.created_at, fact.start))
            stat(day, "lead_time_minutes", lead)
            bucket(day, "lead_time", bucket_of(lead))
    if fact.status == "cancelled":
        cancelled_at = fact.cancelled_at or fact.created_at
        if cancelled_at is not None:
            day = local_day(cancelled_at, tz)
            stat(day, "cancelled")
            if fact.start is not None:
                notice = max(0, minutes_between(cancelled_at, fact.start))
                stat(day, "cancel_notice_minutes", notice)
                bucket(day, "cancel_notice", bucket_of(notice))
    for at in fact.reschedules:
        stat(local_day(at, tz), "rescheduled")
    if fact.start is not None and fact.status in HELD_STATUSES:
        local_start = fact.start.astimezone(zone(tz))
        day = local_start.date()
        stat(day, "bookings")
        stat(day, "seats_booked", fact.seats)
        if fact.end is not None and fact.end > fact.start:
            stat(day, "booked_minutes", minutes_between(fact.start, fact.end))
        if fact.status == "completed":
            stat(day, "completed")
        elif fact.status == "no_show":
            stat(day, "no_show")
        bucket(day, "start_hour", f"{local_start.hour:02d}")
    return +out


def contribution_delta(
    old: BookingFact | None, new: BookingFact | None
) -> dict[tuple[Any, ...], int]:
    """``new - old``, keeping negative amounts (a Counter subtraction would drop them)."""
    delta: dict[tuple[Any, ...], int] = dict(contributions(new))
    for key, amount in contributions(old).items():
        delta[key] = delta.get(key, 0) - amount
    return {k: v for k, v in delta.items() if v}


def total_contributions(facts: Iterable[BookingFact]) -> Counter[tuple[Any, ...]]:
    total: Counter[tuple[Any, ...]] = Counter()
    for fact in facts:
        total.update(contributions(fact))
    return total


def split_rows(
    amounts: Mapping[tuple[Any, ...], int],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Contribution amounts as ``daily_stats`` and ``daily_buckets`` rows, sorted by key
    (a fixed order of row updates keeps concurrent consumers free of deadlocks)."""
    stats: dict[tuple[uuid.UUID, uuid.UUID, date], dict[str, Any]] = {}
    buckets: list[dict[str, Any]] = []
    for key, amount in amounts.items():
        if key[0] == "stat":
            _, p, s, day, column = key
            row = stats.setdefault(
                (p, s, day),
                {"provider_id": p, "service_id": s, "day": day} | dict.fromkeys(STAT_COLUMNS, 0),
            )
            row[column] += amount
        else:
            _, p, s, day, dimension, name = key
            buckets.append(
                {
                    "provider_id": p,
                    "service_id": s,
                    "day": day,
                    "dimension": dimension,
                    "bucket": name,
                    "count": amount,
                }
            )
    stat_rows = [stats[k] for k in sorted(stats, key=lambda k: (str(k[0]), str(k[1]), k[2]))]
    buckets.sort(
        key=lambda r: (
            str(r["provider_id"]),
            str(r["service_id"]),
            r["day"],
            r["dimension"],
            r["bucket"],
        )
    )
    return stat_rows, buckets
