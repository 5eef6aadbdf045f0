"""Bookings written to the provider's CalDAV calendar, kept in step with changes.

A booking event queues one ``caldav_writes`` row per booking (the newest version wins:
a cancellation that overtakes a pending creation turns it into a delete). The writer
PUTs the booking as ``calisera-<booking id>.ics`` (its UID is the one of the e-mailed
invitations, ``<booking id>@calisera``, SEQUENCE its version) or DELETEs it, and retries
a failure with backoff without end: the calendar catches up when it is back, and the
connection shows ``not_synced`` meanwhile. Nothing here is on the booking's path.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from icalendar import Calendar, Event
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from calisera.bookings.events import BookingData
from calisera.core.backoff import Backoff
from calisera.core.ical import PRODID, booking_uid
from calisera.core.settings import Settings
from calisera.integrations.caldav_client import CalendarAccess, CalendarFailed
from calisera.integrations.models import bookings, caldav_connections, caldav_writes
from calisera.integrations.secrets import CALDAV_PASSWORD, unseal_secret

log = structlog.get_logger("calisera.integrations.caldav")
RETRY = Backoff(base=5.0, factor=3.0, cap=3600.0, jitter=0.2)


def object_name(booking_id: uuid.UUID) -> str:
    return f"calisera-{booking_id}.ics"


_CONNECTED = sa.select(caldav_connections.c.provider_id).where(
    caldav_connections.c.provider_id == sa.bindparam("of_provider")
)
"""Built once: every booking event asks, and most providers have no calendar."""


async def queue_write(session: AsyncSession, data: BookingData, version: int) -> bool:
    """Queue the calendar change of this booking version when a calendar is connected;
    False when none is."""
    connected = await session.scalar(_CONNECTED, {"of_provider": data.provider_id})
    if connected is None:
        return False
    values = {
        "provider_id": data.provider_id,
        "booking_version": version,
        "action": "delete" if data.status == "cancelled" else "put",
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": sa.func.now(),
        "last_error": None,
    }
    await session.execute(
        insert(caldav_writes)
        .values(booking_id=data.booking_id, **values)
        .on_conflict_do_update(
            index_elements=["booking_id"],
            set_=values,
            where=caldav_writes.c.booking_version < version,
        )
    )
    return True


def booking_object(booking: Any) -> str:
    """The calendar object of a booking (no METHOD: RFC 4791 stores plain objects)."""
    data = booking.data
    customer = (data.get("customer") or {}).get("name") or "customer"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", booking_uid(booking.booking_id))
    event.add("sequence", booking.version)
    event.add("dtstamp", booking.updated_at.astimezone(UTC))
    event.add("dtstart", booking.start_at.astimezone(UTC))
    event.add("dtend", booking.end_at.astimezone(UTC))
    event.add("summary", f"{data.get('service_name') or 'Booking'}: {customer}")
    event.add("description", f"Booked through Calisera ({data.get('seats', 1)} seat(s)).")
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    return cal.to_ical().decode()


async def write_due(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    booking_id: uuid.UUID | None = None,
    limit: int = 20,
) -> int:
    """Perform due calendar writes (all, or one booking's); returns how many succeeded."""
    lease = timedelta(seconds=settings.caldav_timeout_seconds * 3 + 30)
    async with sessionmaker() as session, session.begin():
        query = (
            sa.select(
                caldav_writes,
                caldav_connections.c.url,
                caldav_connections.c.username,
                caldav_connections.c.password_sealed,
            )
            .join(
                caldav_connections, caldav_connections.c.provider_id == caldav_writes.c.provider_id
            )
            .where(
                caldav_writes.c.status == "pending",
                caldav_writes.c.next_attempt_at <= sa.func.now(),
            )
            .order_by(caldav_writes.c.next_attempt_at)
            .limit(limit)
            .with_for_update(of=caldav_writes, skip_locked=True)
        )
        if booking_id is not None:
            query = query.where(caldav_writes.c.booking_id == booking_id)
        jobs = (await session.execute(query)).all()
        if not jobs:
            return 0
        await session.execute(
            caldav_writes.update()
            .where(caldav_writes.c.booking_id.in_([j.booking_id for j in jobs]))
            .values(next_attempt_at=sa.func.now() + lease)
        )
        found = await session.execute(
            sa.select(bookings).where(bookings.c.booking_id.in_([j.booking_id for j in jobs]))
        )
        copies = {b.booking_id: b for b in found}
    results = await asyncio.gather(
        *(_write(settings, sessionmaker, job, copies.get(job.booking_id)) for job in jobs)
    )
    return sum(results)


async def _write(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], job: Any, booking: Any
) -> bool:
    access = CalendarAccess(
        settings,
        job.url,
        job.username,
        unseal_secret(settings, CALDAV_PASSWORD, job.password_sealed),
    )
    name = object_name(job.booking_id)
    error: str | None = None
    try:
        if job.action == "delete" or booking is None:
            call = asyncio.to_thread(access.delete, name)
        else:
            call = asyncio.to_thread(access.put, name, booking_object(booking))
        await asyncio.wait_for(call, timeout=settings.caldav_timeout_seconds * 3)
    except CalendarFailed as exc:
        error = str(exc)
    except TimeoutError:
        error = "the calendar did not answer in time"
    async with sessionmaker() as session, session.begin():
        same_version = (caldav_writes.c.booking_id == job.booking_id) & (
            caldav_writes.c.booking_version == job.booking_version
        )
        if error is None:
            await session.execute(
                caldav_writes.update().where(same_version).values(status="done", last_error=None)
            )
        else:
            delay = timedelta(seconds=RETRY.delay(job.attempts + 1))
            await session.execute(
                caldav_writes.update()
                .where(same_version)
                .values(
                    attempts=caldav_writes.c.attempts + 1,
                    last_error=error,
                    next_attempt_at=datetime.now(UTC) + delay,
                )
            )
            log.warning("caldav_write_failed", booking_id=str(job.booking_id), error=error)
    return error is None
