"""Weekly hours, date overrides and time off: validated, replaced as a whole, read back
in one round trip (also the schedule read model's hot path)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.auth import Principal
from calisera.core.errors import FieldError, InvalidInput
from calisera.core.locks import lock_provider
from calisera.providers import events
from calisera.providers.access import (
    managed_provider,
)
from calisera.providers.changes import (
    record_change,
    utc_now,
)
from calisera.providers.models import (
    date_overrides,
    time_off,
    weekly_rules,
)
from calisera.providers.schemas import (
    AvailabilityIn,
    AvailabilityOut,
)


def _check_availability(data: AvailabilityIn) -> None:
    """End after start and no overlaps, each error naming its field (``weekly[2].end``)."""
    errors: list[FieldError] = []
    by_day: dict[int, list[tuple[int, Any]]] = {}
    for i, rule in enumerate(data.weekly):
        if rule.end <= rule.start:
            errors.append(FieldError(f"weekly[{i}].end", "must be after start"))
            continue
        by_day.setdefault(rule.weekday, []).append((i, rule))
    for entries in by_day.values():
        entries.sort(key=lambda e: e[1].start)
        for (_, prev), (i, cur) in itertools.pairwise(entries):
            if cur.start < prev.end:
                errors.append(
                    FieldError(f"weekly[{i}].start", "overlaps another interval of that weekday")
                )
    seen: dict[date, int] = {}
    for i, override in enumerate(data.overrides):
        if override.date in seen:
            errors.append(FieldError(f"overrides[{i}].date", "date given twice"))
        seen[override.date] = i
        valid = []
        for j, interval in enumerate(override.intervals):
            if interval.end <= interval.start:
                errors.append(
                    FieldError(f"overrides[{i}].intervals[{j}].end", "must be after start")
                )
            else:
                valid.append((j, interval))
        valid.sort(key=lambda e: e[1].start)
        for (_, prev), (j, cur) in itertools.pairwise(valid):
            if cur.start < prev.end:
                errors.append(
                    FieldError(f"overrides[{i}].intervals[{j}].start", "overlaps another interval")
                )
    for i, off in enumerate(data.time_off):
        if off.end <= off.start:
            errors.append(FieldError(f"time_off[{i}].end", "must be after start"))
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise InvalidInput(detail, errors=errors)


def _json_array(
    where: sa.ColumnElement[bool], fields: dict[str, Any], *order_by: Any
) -> sa.ScalarSelect[Any]:
    """``[{field: column, ...}, ...]`` of the matching rows as one JSON value (``[]`` if none)."""
    row = sa.func.json_build_object(*itertools.chain.from_iterable(fields.items()))
    return (
        sa.select(
            sa.func.coalesce(
                sa.func.json_agg(aggregate_order_by(row, *order_by)), sa.text("'[]'::json")
            )
        )
        .where(where)
        .scalar_subquery()
    )


def availability_columns(provider_id: Any) -> list[sa.ScalarSelect[Any]]:
    """Weekly rules, overrides and time off as three JSON arrays: one round trip, and
    combinable with the provider row itself (the schedule read model's hot path)."""
    w, o, t = weekly_rules.c, date_overrides.c, time_off.c
    return [
        _json_array(
            w.provider_id == provider_id,
            {"weekday": w.weekday, "start": w.start, "end": w.end},
            w.weekday,
            w.start,
        ),
        _json_array(
            o.provider_id == provider_id, {"date": o.date, "intervals": o.intervals}, o.date
        ),
        _json_array(
            t.provider_id == provider_id,
            {"start": t.start, "end": t.end, "reason": t.reason},
            t.start,
            t.id,
        ),
    ]


def availability_out(weekly: Any, overrides: Any, offs: Any) -> AvailabilityOut:
    return AvailabilityOut.model_validate(
        {"weekly": weekly, "overrides": overrides, "time_off": offs}
    )


async def _load_availability(session: AsyncSession, provider_id: uuid.UUID) -> AvailabilityOut:
    row = (await session.execute(sa.select(*availability_columns(provider_id)))).one()
    return availability_out(*row)


def _normalized_availability(data: AvailabilityIn) -> AvailabilityOut:
    """``data`` in the order it is read back (weekday/start, date, start)."""
    return AvailabilityOut.model_validate(
        {
            "weekly": sorted(
                (r.model_dump() for r in data.weekly), key=lambda r: (r["weekday"], r["start"])
            ),
            "overrides": sorted(
                (
                    {
                        "date": o.date,
                        "intervals": sorted(
                            (i.model_dump() for i in o.intervals), key=lambda i: i["start"]
                        ),
                    }
                    for o in data.overrides
                ),
                key=lambda o: o["date"],
            ),
            "time_off": sorted((t.model_dump() for t in data.time_off), key=lambda t: t["start"]),
        }
    )


async def get_availability(
    session: AsyncSession, provider_id: uuid.UUID, principal: Principal
) -> AvailabilityOut:
    p = await managed_provider(session, provider_id, principal)
    return await _load_availability(session, p.id)


async def put_availability(
    session: AsyncSession, provider_id: uuid.UUID, data: AvailabilityIn, principal: Principal
) -> AvailabilityOut:
    """Replace the provider's hours, overrides and time off (wall clock, as given)."""
    await lock_provider(session, provider_id)  # orders this change with bookings
    p = await managed_provider(session, provider_id, principal, lock=True)
    _check_availability(data)
    current = await _load_availability(session, p.id)
    if current == _normalized_availability(data):
        return current  # nothing changes: no write, no event, same schedule version
    for table in (weekly_rules, date_overrides, time_off):
        await session.execute(sa.delete(table).where(table.c.provider_id == p.id))
    if data.weekly:
        await session.execute(
            sa.insert(weekly_rules),
            [
                {"provider_id": p.id, "weekday": r.weekday, "start": r.start, "end": r.end}
                for r in data.weekly
            ],
        )
    if data.overrides:
        await session.execute(
            sa.insert(date_overrides),
            [
                {
                    "provider_id": p.id,
                    "date": o.date,
                    "intervals": [
                        i.model_dump(mode="json")
                        for i in sorted(o.intervals, key=lambda i: i.start)
                    ],
                }
                for o in data.overrides
            ],
        )
    if data.time_off:
        await session.execute(
            sa.insert(time_off),
            [
                {"provider_id": p.id, "start": t.start, "end": t.end, "reason": t.reason}
                for t in data.time_off
            ],
        )
    p.version += 1
    p.schedule_version += 1
    p.updated_at = utc_now()
    await session.flush()
    result = await _load_availability(session, p.id)
    await record_change(
        session,
        events.AVAILABILITY_UPDATED,
        aggregate_id=p.id,
        aggregate_version=p.version,
        provider_id=p.id,
        data=events.AvailabilityData(timezone=p.timezone, **result.model_dump()),
    )
    return result
