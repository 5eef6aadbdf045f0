"""Analytics domain: applying events to facts and aggregates, rebuilding, answering queries.

Functions take a session inside a transaction and never commit. The math lives in
:mod:`calisera.analytics.aggregates`; this module moves rows.
"""

from __future__ import annotations

import secrets as random_secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.analytics import aggregates as agg
from calisera.analytics.models import (
    booking_observations,
    bookings,
    daily_buckets,
    daily_stats,
    providers,
    secrets,
    services,
)
from calisera.core.errors import InvalidInput
from calisera.core.events import EventEnvelope

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
BUCKET_KEY = ("provider_id", "service_id", "day", "dimension", "bucket")

# --- customer key -----------------------------------------------------------------------


async def stored_secret(session: AsyncSession, name: str = "customer_key") -> bytes:
    """A random key kept in the analytics schema, created on first use (the fallback when
    neither ``CALISERA_ANALYTICS_KEY`` nor an admin token is configured)."""
    await session.execute(
        insert(secrets)
        .values(name=name, value=random_secrets.token_bytes(32))
        .on_conflict_do_nothing()
    )
    value = await session.scalar(sa.select(secrets.c.value).where(secrets.c.name == name))
    assert value is not None
    return bytes(value)


# --- booking events ---------------------------------------------------------------------


async def record_booking_event(
    session: AsyncSession, envelope: EventEnvelope, secret: bytes
) -> bool:
    """Fold one booking event into the booking's fact and the aggregates.

    Events of one booking are serialised with a transaction-level advisory lock, so two
    workers handling events of the same booking see each other's observations. Returns
    False when an event with the same booking, version and type was already applied.
    """
    booking_id = _booking_id(envelope)
    await session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"analytics.booking:{booking_id}"},
    )
    observation = agg.observe_booking(
        event_type=envelope.type,
        aggregate_id=booking_id,
        aggregate_version=envelope.aggregate_version,
        occurred_at=envelope.occurred_at,
        provider_id=envelope.provider_id,
        data=envelope.data,
        secret=secret,
    )
    inserted = await session.execute(
        insert(booking_observations)
        .values(
            booking_id=booking_id,
            aggregate_version=envelope.aggregate_version,
            event_type=envelope.type,
            provider_id=agg.as_uuid(observation.get("provider_id")),
            occurred_at=envelope.occurred_at,
            observation=observation,
        )
        .on_conflict_do_nothing()
        .returning(booking_observations.c.booking_id)
    )
    if inserted.first() is None:
        return False
    earlier = [
        row.observation
        for row in await session.execute(
            sa.select(booking_observations.c.observation).where(
                booking_observations.c.booking_id == booking_id,
                sa.not_(
                    sa.and_(
                        booking_observations.c.aggregate_version == envelope.aggregate_version,
                        booking_observations.c.event_type == envelope.type,
                    )
                ),
            )
        )
    ]
    old = agg.fold_booking(booking_id, earlier) if earlier else None
    new = agg.fold_booking(booking_id, [*earlier, observation])
    await apply_amounts(session, agg.contribution_delta(old, new))
    await save_facts(session, [new])
    return True


def _booking_id(envelope: EventEnvelope) -> uuid.UUID:
    for key in ("booking_id", "id"):
        value = agg.as_uuid(envelope.data.get(key))
        if value is not None:
            return value
    return envelope.aggregate_id


def _fact_row(fact: agg.BookingFact) -> dict[str, Any]:
    return {
        "booking_id": fact.booking_id,
        "version": fact.version,
        "provider_id": fact.provider_id,
        "service_id": fact.service_id,
        "service_kind": fact.service_kind,
        "service_name": fact.service_name,
        "status": fact.status,
        "start_at": fact.start,
        "end_at": fact.end,
        "seats": fact.seats,
        "created_at": fact.created_at,
        "cancelled_at": fact.cancelled_at,
        "reschedule_count": len(fact.reschedules),
        "provider_timezone": fact.provider_timezone,
        "customer_key": fact.customer_key,
        "customer_timezone": fact.customer_timezone,
        "customer_country": fact.customer_country,
    }


async def save_facts(session: AsyncSession, facts: Sequence[agg.BookingFact]) -> None:
    if not facts:
        return
    stmt = insert(bookings)
    columns = [c.name for c in bookings.c if c.name != "booking_id"]
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[bookings.c.booking_id],
            set_={c: stmt.excluded[c] for c in columns},
        ),
        [_fact_row(f) for f in facts],
    )


async def apply_amounts(session: AsyncSession, amounts: Mapping[tuple[Any, ...], int]) -> None:
    """Add contribution amounts (possibly negative) to the aggregate tables; rows that
    come back to all zeros are removed, so incremental and rebuilt tables are equal."""
    stat_rows, bucket_rows = agg.split_rows(amounts)
    if stat_rows:
        stmt = insert(daily_stats)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["provider_id", "service_id", "day"],
                set_={c: daily_stats.c[c] + stmt.excluded[c] for c in agg.STAT_COLUMNS},
            ),
            stat_rows,
        )
        keys = [(r["provider_id"], r["service_id"], r["day"]) for r in stat_rows]
        await session.execute(
            sa.delete(daily_stats).where(
                sa.tuple_(
                    daily_stats.c.provider_id, daily_stats.c.service_id, daily_stats.c.day
                ).in_(keys),
                *[daily_stats.c[c] == 0 for c in agg.STAT_COLUMNS],
            )
        )
    if bucket_rows:
        stmt = insert(daily_buckets)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=list(BUCKET_KEY),
                set_={"count": daily_buckets.c["count"] + stmt.excluded["count"]},
            ),
            bucket_rows,
        )
        key_columns = [daily_buckets.c[c] for c in BUCKET_KEY]
        await session.execute(
            sa.delete(daily_buckets).where(
                sa.tuple_(*key_columns).in_([tuple(r[c] for c in BUCKET_KEY) for r in bucket_rows]),
                daily_buckets.c["count"] == 0,
            )
        )


# --- provider, availability and service events -------------------------------------------


async def _merge_row(
    session: AsyncSession,
    table: sa.Table,
    key: str,
    key_value: uuid.UUID,
    version: int,
    updates: Mapping[str, Any],
    base: Mapping[str, Any],
) -> dict[str, Any]:
    """Merge ``updates`` stated at ``version`` into the row's per-field versions (under a
    row lock) and return the merged values: each field keeps the value of the newest
    event that stated it, whatever the arrival order."""
    await session.execute(
        insert(table)
        .values({key: key_value, "version": 0, "fields": {}, **base})
        .on_conflict_do_nothing()
    )
    stored = await session.scalar(
        sa.select(table.c.fields).where(table.c[key] == key_value).with_for_update()
    )
    fields = agg.merge_fields(stored or {}, version, updates)
    values = agg.field_values(fields)
    await session.execute(
        sa.update(table)
        .where(table.c[key] == key_value)
        .values(version=sa.func.greatest(table.c.version, version), fields=fields)
    )
    return values


async def record_provider_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    data = envelope.data
    provider_id = agg.as_uuid(data.get("id")) or envelope.provider_id or envelope.aggregate_id
    values = await _merge_row(
        session,
        providers,
        "provider_id",
        provider_id,
        envelope.aggregate_version,
        {"name": data.get("name"), "timezone": data.get("timezone")},
        {},
    )
    await session.execute(
        sa.update(providers)
        .where(providers.c.provider_id == provider_id)
        .values(name=values.get("name"), timezone=values.get("timezone"))
    )


async def record_availability(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Keep the latest full availability document (weekly, overrides, time off, zone)."""
    data = envelope.data
    doc = data.get("availability") if isinstance(data.get("availability"), dict) else data
    assert isinstance(doc, dict)
    provider_id = (
        envelope.provider_id or agg.as_uuid(data.get("provider_id")) or envelope.aggregate_id
    )
    document = {
        "weekly": doc.get("weekly") or [],
        "overrides": doc.get("overrides") or [],
        "time_off": doc.get("time_off") or [],
        "timezone": doc.get("timezone") or data.get("timezone"),
    }
    values = await _merge_row(
        session,
        providers,
        "provider_id",
        provider_id,
        envelope.aggregate_version,
        {"availability": document, "timezone": document["timezone"]},
        {},
    )
    await session.execute(
        sa.update(providers)
        .where(providers.c.provider_id == provider_id)
        .values(availability=values.get("availability"), timezone=values.get("timezone"))
    )


async def record_service_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    data = envelope.data
    service_id = (
        agg.as_uuid(data.get("id")) or agg.as_uuid(data.get("service_id")) or envelope.aggregate_id
    )
    provider_id = agg.as_uuid(data.get("provider_id")) or envelope.provider_id
    if provider_id is None:
        return
    if envelope.type == "service.archived" or data.get("active") is False or data.get("archived"):
        archived_at: str | None = (
            agg.parse_instant(data.get("archived_at")) or envelope.occurred_at
        ).isoformat()
    elif data.get("active") is True or data.get("archived") is False:
        archived_at = ""  # stated: not archived
    else:
        archived_at = None  # not stated
    recurrence = data.get("recurrence") if isinstance(data.get("recurrence"), dict) else None
    starts_at = agg.parse_instant(data.get("starts_at"))
    values = await _merge_row(
        session,
        services,
        "service_id",
        service_id,
        envelope.aggregate_version,
        {
            "name": data.get("name"),
            "kind": data.get("kind") or data.get("service_kind"),
            "capacity": agg.as_int(data.get("capacity")),
            "duration_minutes": agg.as_int(data.get("duration_minutes")),
            "starts_at": starts_at.isoformat() if starts_at else None,
            "recurrence": recurrence,
            "archived_at": archived_at,
        },
        {"provider_id": provider_id, "capacity": 1},
    )
    await session.execute(
        sa.update(services)
        .where(services.c.service_id == service_id)
        .values(
            name=values.get("name"),
            kind=values.get("kind"),
            capacity=max(1, values.get("capacity") or 1),
            duration_minutes=values.get("duration_minutes"),
            starts_at=agg.parse_instant(values.get("starts_at")),
            recurrence=values.get("recurrence"),
            archived_at=agg.parse_instant(values.get("archived_at") or None),
        )
    )


# --- rebuild ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildResult:
    bookings: int
    stat_rows: int
    bucket_rows: int


async def rebuild(session: AsyncSession, provider_id: uuid.UUID | None = None) -> RebuildResult:
    """Recompute booking facts from the stored observations and every aggregate from the
    facts, for one provider or all, in the caller's transaction.

    The aggregate tables are locked against concurrent consumers for the duration, so a
    consumer that delivers meanwhile applies its delta on top of the rebuilt rows.
    """
    await session.execute(
        sa.text(
            "LOCK TABLE analytics.daily_stats, analytics.daily_buckets, analytics.bookings "
            "IN SHARE ROW EXCLUSIVE MODE"
        )
    )
    query = sa.select(booking_observations.c.booking_id, booking_observations.c.observation)
    if provider_id is not None:
        ids = sa.select(booking_observations.c.booking_id).where(
            booking_observations.c.provider_id == provider_id
        )
        query = query.where(booking_observations.c.booking_id.in_(ids))
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in await session.execute(query):
        grouped.setdefault(row.booking_id, []).append(row.observation)
    facts = [agg.fold_booking(bid, obs) for bid, obs in grouped.items()]
    if provider_id is not None:
        facts = [f for f in facts if f.provider_id == provider_id]
        for table in (daily_stats, daily_buckets, bookings):
            await session.execute(sa.delete(table).where(table.c.provider_id == provider_id))
    else:
        for table in (daily_stats, daily_buckets, bookings):
            await session.execute(sa.delete(table))
    await save_facts(session, facts)
    stat_rows, bucket_rows = agg.split_rows(agg.total_contributions(facts))
    if stat_rows:
        await session.execute(insert(daily_stats), stat_rows)
    if bucket_rows:
        await session.execute(insert(daily_buckets), bucket_rows)
    return RebuildResult(len(facts), len(stat_rows), len(bucket_rows))


# --- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Inclusive provider-local dates."""

    first: date
    last: date


def resolve_period(first: date | None, last: date | None, today: date) -> Period:
    """Validate ``from``/``to`` (422 naming the field); defaults: the last 30 days."""
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
    if metric not in agg.METRICS:
        raise InvalidInput.field("metric", f"unknown metric; one of: {', '.join(agg.METRICS)}")
    if interval not in agg.INTERVALS:
        raise InvalidInput.field(
            "interval", f"unknown interval; one of: {', '.join(agg.INTERVALS)}"
        )


@dataclass
class ProviderData:
    """Everything stored about one provider for a period."""

    timezone: str
    availability: agg.Availability | None
    offers: dict[uuid.UUID, agg.ServiceOffer]
    stat_rows: list[dict[str, Any]]

    def kinds(self) -> dict[uuid.UUID, str | None]:
        return {sid: o.kind for sid, o in self.offers.items()}


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
    availability = agg.Availability.from_document(doc, tz) if doc is not None else None
    offers = {
        r.service_id: agg.ServiceOffer(
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
            offers[r[0]] = agg.ServiceOffer(service_id=r[0], name=r[1], kind=r[2], capacity=0)
    return ProviderData(tz, availability, offers, stat_rows)


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
    return {name: counts.get(name, 0) for name, _ in agg.LEAD_TIME_BUCKETS}


def _service_entry(
    sid: uuid.UUID, totals: agg.DayTotals, offer: agg.ServiceOffer | None
) -> dict[str, Any]:
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


async def summary(session: AsyncSession, provider_id: uuid.UUID, period: Period) -> dict[str, Any]:
    data = await load_provider_data(session, provider_id, period)
    by_day = agg.totals_by_day(
        period.first,
        period.last,
        data.stat_rows,
        data.kinds(),
        data.availability,
        data.offers.values(),
        data.timezone,
    )
    total = agg.DayTotals()
    for t in by_day.values():
        total.merge(t)
    by_service = agg.totals_by_service(
        period.first, period.last, data.stat_rows, data.offers, data.timezone
    )
    mix = await customers_in(session, provider_id, period, data.timezone)
    return {
        "provider_id": provider_id,
        "from": period.first,
        "to": period.last,
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
    by_day = agg.totals_by_day(
        period.first,
        period.last,
        data.stat_rows,
        data.kinds(),
        data.availability,
        data.offers.values(),
        data.timezone,
    )
    points = agg.series(by_day, metric, interval)
    return {
        "provider_id": provider_id,
        "metric": metric,
        "interval": interval,
        "from": period.first,
        "to": period.last,
        "timezone": data.timezone,
        "points": [{"start": start, "value": value} for start, value in points],
    }


async def service_table(
    session: AsyncSession, provider_id: uuid.UUID, period: Period
) -> dict[str, Any]:
    data = await load_provider_data(session, provider_id, period)
    by_service = agg.totals_by_service(
        period.first, period.last, data.stat_rows, data.offers, data.timezone
    )
    items = [_service_entry(sid, t, data.offers.get(sid)) for sid, t in by_service.items()]
    items.sort(key=lambda i: (-i["bookings_created"], str(i["service_id"])))
    return {"provider_id": provider_id, "from": period.first, "to": period.last, "items": items}


async def heatmap(session: AsyncSession, provider_id: uuid.UUID, period: Period) -> dict[str, Any]:
    """Held bookings by provider-local weekday (0 = Monday) and hour of their start."""
    tz = await provider_timezone(session, provider_id)
    grid: Counter[tuple[int, int]] = Counter()
    for day, hour, n in await bucket_counts(session, provider_id, period, "start_hour"):
        grid[(day.weekday(), int(hour))] += n
    by_weekday = [sum(grid[(w, h)] for h in range(24)) for w in range(7)]
    by_hour = [sum(grid[(w, h)] for w in range(7)) for h in range(24)]
    return {
        "provider_id": provider_id,
        "from": period.first,
        "to": period.last,
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
    zi = agg.zone(tz)
    start = datetime.combine(period.first, time.min, zi).astimezone(UTC)
    end = datetime.combine(period.last + timedelta(days=1), time.min, zi).astimezone(UTC)
    return start, end


async def customers_in(
    session: AsyncSession, provider_id: uuid.UUID, period: Period, tz: str
) -> agg.CustomerMix:
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
    return agg.customer_mix((agg.CustomerBooking(r[0], r[1], r[2], r[3]) for r in rows), start, end)


async def customer_report(
    session: AsyncSession, provider_id: uuid.UUID, period: Period
) -> dict[str, Any]:
    tz = await provider_timezone(session, provider_id)
    mix = await customers_in(session, provider_id, period, tz)
    return {
        "provider_id": provider_id,
        "from": period.first,
        "to": period.last,
        "new": mix.new,
        "returning": mix.returning,
        "repeat_rate": mix.repeat_rate,
        "timezones": [{"timezone": k, "customers": v} for k, v in mix.timezones.items()],
        "countries": [{"country": k, "customers": v} for k, v in mix.countries.items()],
    }


async def provider_today(session: AsyncSession, provider_id: uuid.UUID, now: datetime) -> date:
    tz = await provider_timezone(session, provider_id)
    return now.astimezone(agg.zone(tz)).date()
