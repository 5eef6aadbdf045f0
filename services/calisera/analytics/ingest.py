"""Folding events into analytics: booking facts, the aggregates, provider and service rows.

Functions take a session inside a transaction and never commit. Every write is
order-independent: a booking's fact is re-folded from all its observations
(:mod:`calisera.analytics.facts`) and the aggregates move by the difference of its
contributions (:mod:`calisera.analytics.contributions`); provider and service rows
keep, field by field, the value of the newest event that stated it.
"""

from __future__ import annotations

import secrets as random_secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.analytics.contributions import STAT_COLUMNS, contribution_delta, split_rows
from calisera.analytics.facts import (
    BookingFact,
    field_values,
    fold_booking,
    merge_fields,
    observe_booking,
)
from calisera.analytics.instants import iso_instant, parse_instant
from calisera.analytics.models import (
    booking_observations,
    bookings,
    daily_buckets,
    daily_stats,
    providers,
    secrets,
    services,
)
from calisera.bookings.events import BookingData
from calisera.core.events import EventEnvelope
from calisera.providers.events import (
    SERVICE_ARCHIVED,
    AvailabilityData,
    ProviderData,
    ServiceData,
)

BUCKET_KEY = ("provider_id", "service_id", "day", "dimension", "bucket")


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


async def record_booking_event(
    session: AsyncSession, envelope: EventEnvelope, data: BookingData, secret: bytes
) -> bool:
    """Fold one booking event into the booking's fact and the aggregates.

    Events of one booking are serialised with a transaction-level advisory lock, so two
    workers handling events of the same booking see each other's observations. Returns
    False when an event with the same booking, version and type was already applied.
    """
    booking_id = data.booking_id
    await session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"analytics.booking:{booking_id}"},
    )
    observation = observe_booking(
        event_type=envelope.type,
        aggregate_version=envelope.aggregate_version,
        occurred_at=envelope.occurred_at,
        data=data,
        secret=secret,
    )
    key = {
        "o_booking": booking_id,
        "o_version": envelope.aggregate_version,
        "o_type": envelope.type,
    }
    inserted = await session.execute(
        _OBSERVE,
        {
            **key,
            "o_provider": data.provider_id,
            "o_at": envelope.occurred_at,
            "o_seen": observation,
        },
    )
    if inserted.first() is None:
        return False
    earlier = [row.observation for row in await session.execute(_EARLIER, key)]
    old = fold_booking(booking_id, earlier) if earlier else None
    new = fold_booking(booking_id, [*earlier, observation])
    await apply_amounts(session, contribution_delta(old, new))
    await save_facts(session, [new])
    return True


def _fact_row(fact: BookingFact) -> dict[str, Any]:
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


async def save_facts(session: AsyncSession, facts: Sequence[BookingFact]) -> None:
    if not facts:
        return
    await session.execute(_SAVE_FACTS, [_fact_row(f) for f in facts])


_OBSERVE = (
    insert(booking_observations)
    .values(
        booking_id=sa.bindparam("o_booking"),
        aggregate_version=sa.bindparam("o_version"),
        event_type=sa.bindparam("o_type"),
        provider_id=sa.bindparam("o_provider"),
        occurred_at=sa.bindparam("o_at"),
        observation=sa.bindparam("o_seen", type_=booking_observations.c.observation.type),
    )
    .on_conflict_do_nothing()
    .returning(booking_observations.c.booking_id)
)
_EARLIER = sa.select(booking_observations.c.observation).where(
    booking_observations.c.booking_id == sa.bindparam("o_booking"),
    sa.not_(
        sa.and_(
            booking_observations.c.aggregate_version == sa.bindparam("o_version"),
            booking_observations.c.event_type == sa.bindparam("o_type"),
        )
    ),
)
"""The booking's other observations (folded with this one into its fact)."""


def _upsert(table: sa.Table, keys: list[str], set_: Callable[[Any], dict[str, Any]]) -> Any:
    stmt = insert(table)
    return stmt.on_conflict_do_update(index_elements=keys, set_=set_(stmt.excluded))


# Built once: every booking event runs them, and building them cost more than running.
_SAVE_FACTS = _upsert(
    bookings,
    ["booking_id"],
    lambda new: {c.name: new[c.name] for c in bookings.c if c.name != "booking_id"},
)
_ADD_STATS = _upsert(
    daily_stats,
    ["provider_id", "service_id", "day"],
    lambda new: {c: daily_stats.c[c] + new[c] for c in STAT_COLUMNS},
)
_ADD_BUCKETS = _upsert(
    daily_buckets,
    list(BUCKET_KEY),
    lambda new: {"count": daily_buckets.c["count"] + new["count"]},
)


async def apply_amounts(session: AsyncSession, amounts: Mapping[tuple[Any, ...], int]) -> None:
    """Add contribution amounts (possibly negative) to the aggregate tables; rows that
    come back to all zeros are removed, so incremental and rebuilt tables are equal."""
    stat_rows, bucket_rows = split_rows(amounts)
    if stat_rows:
        await session.execute(_ADD_STATS, stat_rows)
        keys = [(r["provider_id"], r["service_id"], r["day"]) for r in stat_rows if _may_empty(r)]
    if stat_rows and keys:
        await session.execute(
            sa.delete(daily_stats).where(
                sa.tuple_(
                    daily_stats.c.provider_id, daily_stats.c.service_id, daily_stats.c.day
                ).in_(keys),
                *[daily_stats.c[c] == 0 for c in STAT_COLUMNS],
            )
        )
    if bucket_rows:
        await session.execute(_ADD_BUCKETS, bucket_rows)
        decreased = [tuple(r[c] for c in BUCKET_KEY) for r in bucket_rows if r["count"] <= 0]
        if decreased:
            key_columns = [daily_buckets.c[c] for c in BUCKET_KEY]
            await session.execute(
                sa.delete(daily_buckets).where(
                    sa.tuple_(*key_columns).in_(decreased), daily_buckets.c["count"] == 0
                )
            )


_NEVER_NEGATIVE = tuple(
    c for c in STAT_COLUMNS if c not in ("lead_time_minutes", "cancel_notice_minutes")
)
"""Counts and booked minutes; the two notice columns go negative for a booking made or
cancelled after its start."""


def _may_empty(row: Mapping[str, Any]) -> bool:
    """Whether adding ``row`` can leave a daily_stats row all zeros (then it is deleted):
    not when it adds to a column that is never negative (a new booking's row)."""
    return not any(row[c] > 0 for c in _NEVER_NEGATIVE)


async def _merge_row(
    session: AsyncSession,
    table: sa.Table,
    key: str,
    key_value: uuid.UUID,
    version: int,
    updates: Mapping[str, Any],
    *,
    base: Mapping[str, Any] | None = None,
    columns: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """Merge ``updates`` stated at ``version`` into the row's per-field versions (under a
    row lock) and write the merged values to their columns (through ``columns`` when
    they need converting): each field keeps the value of the newest event that stated
    it, whatever the arrival order."""
    await session.execute(
        insert(table)
        .values({key: key_value, "version": 0, "fields": {}, **(base or {})})
        .on_conflict_do_nothing()
    )
    stored = await session.scalar(
        sa.select(table.c.fields).where(table.c[key] == key_value).with_for_update()
    )
    fields = merge_fields(stored or {}, version, updates)
    values = field_values(fields)
    await session.execute(
        sa.update(table)
        .where(table.c[key] == key_value)
        .values(
            version=sa.func.greatest(table.c.version, version),
            fields=fields,
            **(columns(values) if columns else {name: values.get(name) for name in updates}),
        )
    )


async def record_provider_event(
    session: AsyncSession, envelope: EventEnvelope, data: ProviderData
) -> None:
    await _merge_row(
        session,
        providers,
        "provider_id",
        data.id,
        envelope.aggregate_version,
        {"name": data.name, "timezone": data.timezone},
    )


async def erase_provider(session: AsyncSession, provider_id: uuid.UUID) -> None:
    """``provider.deleted``: every fact and aggregate of the provider goes (its customers'
    hashed keys, zones and countries with them)."""
    for table in (booking_observations, bookings, services, daily_stats, daily_buckets, providers):
        await session.execute(sa.delete(table).where(table.c.provider_id == provider_id))


async def record_availability(
    session: AsyncSession, envelope: EventEnvelope, data: AvailabilityData
) -> None:
    """Keep the latest full availability document (weekly, overrides, time off, zone):
    the event's data as JSON, read back by :func:`calisera.analytics.capacity.provider_hours`."""
    await _merge_row(
        session,
        providers,
        "provider_id",
        envelope.provider_id or envelope.aggregate_id,
        envelope.aggregate_version,
        {"availability": data.model_dump(mode="json"), "timezone": data.timezone},
    )


async def record_service_event(
    session: AsyncSession, envelope: EventEnvelope, data: ServiceData
) -> None:
    """Keep what counts a service's seats; archived from the first event that says so
    (``service.archived`` or ``active: false``) until a newer one says it is active."""
    archived = envelope.type == SERVICE_ARCHIVED.name or not data.active
    await _merge_row(
        session,
        services,
        "service_id",
        data.id,
        envelope.aggregate_version,
        {
            "name": data.name,
            "kind": data.kind,
            "capacity": data.capacity,
            "duration_minutes": data.duration_minutes,
            "starts_at": iso_instant(data.starts_at),
            "recurrence": data.recurrence.model_dump(mode="json") if data.recurrence else None,
            "archived_at": iso_instant(envelope.occurred_at) if archived else "",
        },
        base={"provider_id": data.provider_id, "capacity": 1},
        columns=_service_columns,
    )


def _service_columns(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": values.get("name"),
        "kind": values.get("kind"),
        "capacity": max(1, values.get("capacity") or 1),
        "duration_minutes": values.get("duration_minutes"),
        "starts_at": parse_instant(values.get("starts_at")),
        "recurrence": values.get("recurrence"),
        "archived_at": parse_instant(values.get("archived_at") or None),
    }
