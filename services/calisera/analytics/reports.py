"""The dashboard's answers: summary, time series, services, heatmap and customers.

Each query reads the stored aggregates of one provider for a period of inclusive
provider-local dates, adds what the provider offered in it (open minutes, seats) and
shapes the answer; nothing here writes.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.analytics.capacity import ServiceOffer, provider_hours
from calisera.analytics.contributions import LEAD_TIME_BUCKETS
from calisera.analytics.customers import CustomerBooking, CustomerMix, customer_mix
from calisera.analytics.instants import zone
from calisera.analytics.models import bookings, daily_buckets, daily_stats, providers, services
from calisera.analytics.totals import (
    INTERVALS,
    METRICS,
    DayTotals,
    series,
    totals_by_day,
    totals_by_service,
)
from calisera.core.errors import InvalidInput
from calisera.scheduling.model import ProviderSchedule

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30


@dataclass(frozen=True)
class Period:
    """Inclusive provider-local dates."""

    first: date
    last: date


EARLIEST = date.min + timedelta(days=DEFAULT_RANGE_DAYS)
LATEST = date.max - timedelta(days=DEFAULT_RANGE_DAYS)
"""Days a period may name: a day away from either end of Python's calendar, so that
its local midnights in any zone and the defaults around it exist (else a 500)."""


def resolve_period(first: date | None, last: date | None, today: date) -> Period:
    """Validate ``from``/``to`` (422 naming the field); defaults: the last 30 days."""
    for name, day in (("from", first), ("to", last)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise InvalidInput.field(
                name, f"outside the calendar this service keeps ({EARLIEST} to {LATEST})"
            )
    if last is None:
        last = today if first is None else first + timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first is None:
        first = last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first > last:
        raise InvalidInput.field("from", "must be on or before 'to'")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput.field("to", f"the range may span at most {MAX_RANGE_DAYS} days")
    return Period(first, last)


def validate_metric(metric: str, interval: str) -> None:
    if metric not in METRICS:
        raise InvalidInput.field("metric", f"unknown metric; one of: {', '.join(METRICS)}")
    if interval not in INTERVALS:
        raise InvalidInput.field("interval", f"unknown interval; one of: {', '.join(INTERVALS)}")


@dataclass
class ProviderData:
    """Everything stored about one provider for a period."""

    timezone: str
    hours: ProviderSchedule | None
    offers: dict[uuid.UUID, ServiceOffer]
    stat_rows: list[dict[str, Any]]

    def by_day(self, period: Period) -> dict[date, DayTotals]:
        kinds = {sid: o.kind for sid, o in self.offers.items()}
        return totals_by_day(
            period.first,
            period.last,
            self.stat_rows,
            kinds,
            self.hours,
            self.offers.values(),
            self.timezone,
        )

    def by_service(self, period: Period) -> dict[uuid.UUID, DayTotals]:
        return totals_by_service(
            period.first, period.last, self.stat_rows, self.offers, self.timezone
        )


async def provider_timezone(session: AsyncSession, provider_id: uuid.UUID) -> str:
    row = (
        await session.execute(
            sa.select(providers.c.timezone, providers.c.availability).where(
                providers.c.provider_id == provider_id
            )
        )
    ).first()
    if row is not None:
        tz = row.timezone or (row.availability or {}).get("timezone")
        if tz:
            return str(tz)
    tz = await session.scalar(
        sa.select(bookings.c.provider_timezone)
        .where(bookings.c.provider_id == provider_id, bookings.c.provider_timezone.is_not(None))
        .order_by(bookings.c.created_at.desc().nulls_last())
        .limit(1)
    )
    return str(tz) if tz else "UTC"


async def load_provider_data(
    session: AsyncSession, provider_id: uuid.UUID, period: Period
) -> ProviderData:
    tz = await provider_timezone(session, provider_id)
    doc = await session.scalar(
        sa.select(providers.c.availability).where(providers.c.provider_id == provider_id)
    )
    hours = provider_hours(doc, tz) if doc is not None else None
    offers = {
        r.service_id: ServiceOffer(
            service_id=r.service_id,
            name=r.name,
            kind=r.kind,
            capacity=r.capacity,
            duration_minutes=r.duration_minutes,
            starts_at=r.starts_at,
            recurrence=r.recurrence,
            archived_at=r.archived_at,
        )
        for r in await session.execute(
            sa.select(services).where(services.c.provider_id == provider_id)
        )
    }
    stat_rows = [
        dict(r._mapping)
        for r in await session.execute(
            sa.select(daily_stats).where(
                daily_stats.c.provider_id == provider_id,
                daily_stats.c.day.between(period.first, period.last),
            )
        )
    ]
    # Services only known from booking events still get their name and kind.
    for r in await session.execute(
        sa.select(
            bookings.c.service_id,
            sa.func.max(bookings.c.service_name),
            sa.func.max(bookings.c.service_kind),
        )
        .where(bookings.c.provider_id == provider_id, bookings.c.service_id.is_not(None))
        .group_by(bookings.c.service_id)
    ):
        if r[0] not in offers:
            offers[r[0]] = ServiceOffer(service_id=r[0], name=r[1], kind=r[2], capacity=0)
    return ProviderData(tz, hours, offers, stat_rows)


async def bucket_counts(
    session: AsyncSession, provider_id: uuid.UUID, period: Period, dimension: str
) -> list[tuple[date, str, int]]:
    rows = await session.execute(
        sa.select(
            daily_buckets.c.day, daily_buckets.c.bucket, sa.func.sum(daily_buckets.c["count"])
        )
        .where(
            daily_buckets.c.provider_id == provider_id,
            daily_buckets.c.dimension == dimension,
            daily_buckets.c.day.between(period.first, period.last),
        )
        .group_by(daily_buckets.c.day, daily_buckets.c.bucket)
    )
    return [(r[0], r[1], int(r[2])) for r in rows]


def _histogram(rows: Iterable[tuple[date, str, int]]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for _, name, n in rows:
        counts[name] += n
    return {name: counts.get(name, 0) for name, _ in LEAD_TIME_BUCKETS}


def _service_entry(sid: uuid.UUID, totals: DayTotals, offer: ServiceOffer | None) -> dict[str, Any]:
    created = totals.bookings_created
    return {
        "service_id": sid,
        "name": offer.name if offer else None,
        "kind": offer.kind if offer else None,
        **totals.counts(),
        "average_lead_time_minutes": round(totals.lead_time_minutes / created, 1)
        if created
        else None,
    }


def _heading(provider_id: uuid.UUID, period: Period) -> dict[str, Any]:
    """What every answer starts with: whose numbers, for which days."""
    return {"provider_id": provider_id, "from": period.first, "to": period.last}


async def summary(session: AsyncSession, provider_id: uuid.UUID, period: Period) -> dict[str, Any]:
    data = await load_provider_data(session, provider_id, period)
    by_day = data.by_day(period)
    total = DayTotals()
    for t in by_day.values():
        total.merge(t)
    by_service = data.by_service(period)
    mix = await customers_in(session, provider_id, period, data.timezone)
    return {
        **_heading(provider_id, period),
        "timezone": data.timezone,
        **total.counts(),
        "lead_time": _histogram(await bucket_counts(session, provider_id, period, "lead_time")),
        "cancellation_notice": _histogram(
            await bucket_counts(session, provider_id, period, "cancel_notice")
        ),
        "by_service": [
            _service_entry(sid, t, data.offers.get(sid))
            for sid, t in sorted(by_service.items(), key=lambda kv: str(kv[0]))
        ],
        "by_day": [{"date": d, **by_day[d].counts()} for d in sorted(by_day)],
        "customers": {"new": mix.new, "returning": mix.returning, "repeat_rate": mix.repeat_rate},
    }


async def timeseries(
    session: AsyncSession, provider_id: uuid.UUID, period: Period, metric: str, interval: str
) -> dict[str, Any]:
    data = await load_provider_data(session, provider_id, period)
    by_day = data.by_day(period)
    points = series(by_day, metric, interval)
    return {
        **_heading(provider_id, period),
        "metric": metric,
        "interval": interval,
        "timezone": data.timezone,
        "points": [{"start": start, "value": value} for start, value in points],
    }


async def service_table(
    session: AsyncSession, provider_id: uuid.UUID, period: Period
) -> dict[str, Any]:
    data = await load_provider_data(session, provider_id, period)
    by_service = data.by_service(period)
    items = [_service_entry(sid, t, data.offers.get(sid)) for sid, t in by_service.items()]
    items.sort(key=lambda i: (-i["bookings_created"], str(i["service_id"])))
    return {**_heading(provider_id, period), "items": items}


async def heatmap(session: AsyncSession, provider_id: uuid.UUID, period: Period) -> dict[str, Any]:
    """Held bookings by provider-local weekday (0 = Monday) and hour of their start."""
    tz = await provider_timezone(session, provider_id)
    grid: Counter[tuple[int, int]] = Counter()
    for day, hour, n in await bucket_counts(session, provider_id, period, "start_hour"):
        grid[(day.weekday(), int(hour))] += n
    by_weekday = [sum(grid[(w, h)] for h in range(24)) for w in range(7)]
    by_hour = [sum(grid[(w, h)] for w in range(7)) for h in range(24)]
    return {
        **_heading(provider_id, period),
        "timezone": tz,
        "cells": [
            {"weekday": w, "hour": h, "bookings": grid[(w, h)]}
            for w, h in sorted(grid)
            if grid[(w, h)]
        ],
        "by_weekday": by_weekday,
        "by_hour": by_hour,
        "busiest_weekday": _argmax(by_weekday),
        "busiest_hour": _argmax(by_hour),
    }


def _argmax(values: list[int]) -> int | None:
    best = max(values, default=0)
    return values.index(best) if best else None


def period_instants(period: Period, tz: str) -> tuple[datetime, datetime]:
    zi = zone(tz)
    start = datetime.combine(period.first, time.min, zi).astimezone(UTC)
    end = datetime.combine(period.last + timedelta(days=1), time.min, zi).astimezone(UTC)
    return start, end


async def customers_in(
    session: AsyncSession, provider_id: uuid.UUID, period: Period, tz: str
) -> CustomerMix:
    start, end = period_instants(period, tz)
    rows = await session.execute(
        sa.select(
            bookings.c.customer_key,
            bookings.c.created_at,
            bookings.c.customer_timezone,
            bookings.c.customer_country,
        ).where(
            bookings.c.provider_id == provider_id,
            bookings.c.customer_key.is_not(None),
            bookings.c.created_at < end,
        )
    )
    return customer_mix((CustomerBooking(r[0], r[1], r[2], r[3]) for r in rows), start, end)


async def customer_report(
    session: AsyncSession, provider_id: uuid.UUID, period: Period
) -> dict[str, Any]:
    tz = await provider_timezone(session, provider_id)
    mix = await customers_in(session, provider_id, period, tz)
    return {
        **_heading(provider_id, period),
        "new": mix.new,
        "returning": mix.returning,
        "repeat_rate": mix.repeat_rate,
        "timezones": [{"timezone": k, "customers": v} for k, v in mix.timezones.items()],
        "countries": [{"country": k, "customers": v} for k, v in mix.countries.items()],
    }


async def provider_today(session: AsyncSession, provider_id: uuid.UUID, now: datetime) -> date:
    tz = await provider_timezone(session, provider_id)
    return now.astimezone(zone(tz)).date()
