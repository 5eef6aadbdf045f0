"""Connected CalDAV calendars: connect, read busy time on a schedule and on demand.

Reading replaces the provider's ``caldav_busy`` rows in one transaction, so listing
(which asks :func:`busy_between` through this service's client) sees either the old
or the new busy time, never half. A read that fails marks the connection
``not_synced`` with the reason and keeps the busy time of the last good read: a
calendar that is down neither blocks bookings nor suddenly frees what it had busy.
Rows are leased (``next_attempt_at`` moved forward) before the network call, so
several workers never read the same calendar at once.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from calisera.core.settings import Settings
from calisera.integrations.caldav_busy import busy_intervals
from calisera.integrations.caldav_client import CalendarAccess, CalendarFailed
from calisera.integrations.errors import CalendarNotConnected
from calisera.integrations.models import (
    bookings,
    caldav_busy,
    caldav_connections,
    caldav_writes,
    providers,
)
from calisera.integrations.schemas import CalDavConnectionIn, CalDavConnectionOut
from calisera.integrations.secrets import CALDAV_PASSWORD, seal_secret, unseal_secret

log = structlog.get_logger("calisera.integrations.caldav")
WINDOW_BEFORE = timedelta(days=2)
WINDOW_AFTER = timedelta(days=400)
"""Busy time is read from two days ago to a little over a year ahead (the longest
booking window a service may have, plus margins)."""


async def connect(
    session: AsyncSession, settings: Settings, provider_id: uuid.UUID, body: CalDavConnectionIn
) -> None:
    """Store (or replace) the connection; its first read is due at once. Confirmed
    future bookings already known are queued to be written to the new calendar."""
    values = {
        "url": body.url,
        "username": body.username,
        "password_sealed": seal_secret(settings, CALDAV_PASSWORD, body.password),
        "status": "pending",
        "last_error": None,
        "next_sync_at": sa.func.now(),
    }
    await session.execute(caldav_busy.delete().where(caldav_busy.c.provider_id == provider_id))
    await session.execute(
        insert(caldav_connections)
        .values(provider_id=provider_id, **values)
        .on_conflict_do_update(index_elements=["provider_id"], set_=values)
    )
    await session.execute(caldav_writes.delete().where(caldav_writes.c.provider_id == provider_id))
    await session.execute(
        insert(caldav_writes).from_select(
            ["booking_id", "provider_id", "booking_version", "action"],
            sa.select(
                bookings.c.booking_id,
                bookings.c.provider_id,
                bookings.c.version,
                sa.literal("put"),
            ).where(
                bookings.c.provider_id == provider_id,
                bookings.c.status == "confirmed",
                bookings.c.end_at > sa.func.now(),
            ),
        )
    )


async def disconnect(session: AsyncSession, provider_id: uuid.UUID) -> None:
    """Forget the calendar (its busy time and pending writes go with it)."""
    await session.execute(caldav_writes.delete().where(caldav_writes.c.provider_id == provider_id))
    result = await session.execute(
        caldav_connections.delete()
        .where(caldav_connections.c.provider_id == provider_id)
        .returning(caldav_connections.c.provider_id)
    )
    if result.first() is None:
        raise CalendarNotConnected("This provider has no CalDAV calendar connected.")


async def connection_status(session: AsyncSession, provider_id: uuid.UUID) -> CalDavConnectionOut:
    row = (
        await session.execute(
            sa.select(caldav_connections).where(caldav_connections.c.provider_id == provider_id)
        )
    ).first()
    if row is None:
        raise CalendarNotConnected("This provider has no CalDAV calendar connected.")
    busy = await session.scalar(
        sa.select(sa.func.count()).where(caldav_busy.c.provider_id == provider_id)
    )
    pending = (
        await session.execute(
            sa.select(
                sa.func.count(),
                sa.func.max(caldav_writes.c.attempts),
                sa.func.max(caldav_writes.c.last_error),
            ).where(caldav_writes.c.provider_id == provider_id, caldav_writes.c.status == "pending")
        )
    ).one()
    status, error = row.status, row.last_error
    if pending[1] and status == "synced":  # a write keeps failing: not in sync either
        status, error = "not_synced", pending[2]
    return CalDavConnectionOut(
        url=row.url,
        username=row.username,
        status=status,
        last_sync_at=row.last_sync_at,
        last_success_at=row.last_success_at,
        last_error=error,
        busy_intervals=busy or 0,
        pending_writes=pending[0] or 0,
    )


@dataclass(frozen=True)
class _Job:
    provider_id: uuid.UUID
    access: CalendarAccess
    zone: str | None


async def _lease(
    session: AsyncSession, settings: Settings, *, provider_id: uuid.UUID | None, limit: int
) -> list[_Job]:
    query = (
        sa.select(caldav_connections, providers.c.timezone)
        .outerjoin(providers, providers.c.provider_id == caldav_connections.c.provider_id)
        .limit(limit)
        .with_for_update(of=caldav_connections, skip_locked=True)
    )
    if provider_id is None:
        query = query.where(caldav_connections.c.next_sync_at <= sa.func.now())
    else:
        query = query.where(caldav_connections.c.provider_id == provider_id)
    rows = (await session.execute(query)).all()
    if rows:
        lease = timedelta(seconds=settings.caldav_timeout_seconds * 3 + 30)
        await session.execute(
            caldav_connections.update()
            .where(caldav_connections.c.provider_id.in_([r.provider_id for r in rows]))
            .values(next_sync_at=sa.func.now() + lease)
        )
    return [
        _Job(
            r.provider_id,
            CalendarAccess(
                settings,
                r.url,
                r.username,
                unseal_secret(settings, CALDAV_PASSWORD, r.password_sealed),
            ),
            r.timezone,
        )
        for r in rows
    ]


async def sync_now(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], provider_id: uuid.UUID
) -> None:
    """Read one provider's calendar now (on demand); waits for a read in progress."""
    async with sessionmaker() as session, session.begin():
        row = (
            await session.execute(
                sa.select(caldav_connections.c.provider_id)
                .where(caldav_connections.c.provider_id == provider_id)
                .with_for_update()
            )
        ).first()
        if row is None:
            raise CalendarNotConnected("This provider has no CalDAV calendar connected.")
        jobs = await _lease(session, settings, provider_id=provider_id, limit=1)
    for job in jobs:
        await _sync(settings, sessionmaker, job)


async def sync_due(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], *, limit: int = 10
) -> int:
    """Read every calendar whose refresh is due (the sweep); returns how many were read."""
    async with sessionmaker() as session, session.begin():
        jobs = await _lease(session, settings, provider_id=None, limit=limit)
    results = await asyncio.gather(*(_sync(settings, sessionmaker, job) for job in jobs))
    return sum(results)


async def _sync(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], job: _Job
) -> bool:
    now = datetime.now(UTC)
    start, end = now - WINDOW_BEFORE, now + WINDOW_AFTER
    error: str | None = None
    intervals: list[tuple[datetime, datetime]] = []
    try:
        objects = await asyncio.wait_for(
            asyncio.to_thread(job.access.read, start, end),
            timeout=settings.caldav_timeout_seconds * 3,
        )
        intervals = busy_intervals(objects, start, end, default_zone=job.zone)
    except CalendarFailed as exc:
        error = str(exc)
    except TimeoutError:
        error = "the calendar did not answer in time"
    refresh = timedelta(seconds=settings.caldav_refresh_seconds)
    async with sessionmaker() as session, session.begin():
        values: dict[str, Any] = {
            "last_sync_at": now,
            "next_sync_at": now + refresh,
            "status": "not_synced" if error else "synced",
            "last_error": error,
        }
        if error is None:
            values["last_success_at"] = now
        result = await session.execute(
            caldav_connections.update()
            .where(caldav_connections.c.provider_id == job.provider_id)
            .values(**values)
            .returning(caldav_connections.c.provider_id)
        )
        if result.first() is None or error is not None:
            log.warning("caldav_sync_failed", provider_id=str(job.provider_id), error=error)
            return False
        await session.execute(
            caldav_busy.delete().where(caldav_busy.c.provider_id == job.provider_id)
        )
        if intervals:
            await session.execute(
                caldav_busy.insert(),
                [
                    {"provider_id": job.provider_id, "start_at": a, "end_at": b}
                    for a, b in intervals
                ],
            )
    log.info("caldav_synced", provider_id=str(job.provider_id), busy=len(intervals))
    return True


async def busy_between(
    session: AsyncSession, provider_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[list[tuple[datetime, datetime]], bool]:
    """Busy intervals of the provider's calendar overlapping ``[start, end)``, and
    whether the last read succeeded (True too when no calendar is connected)."""
    status = await session.scalar(
        sa.select(caldav_connections.c.status).where(
            caldav_connections.c.provider_id == provider_id
        )
    )
    rows = await session.execute(
        sa.select(caldav_busy.c.start_at, caldav_busy.c.end_at)
        .where(
            caldav_busy.c.provider_id == provider_id,
            caldav_busy.c.start_at < end,
            caldav_busy.c.end_at > start,
        )
        .order_by(caldav_busy.c.start_at)
    )
    return [(r.start_at, r.end_at) for r in rows], status != "not_synced"
