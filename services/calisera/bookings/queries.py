"""Reading bookings: one booking, its history, and a provider's list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.errors import BookingNotFound
from calisera.bookings.models import booking_history, bookings
from calisera.bookings.schemas import BookingOut, CustomerOut, HistoryEntryOut
from calisera.core.pagination import after_cursor, page_of


def effective_status(row: Any, now: datetime | None = None) -> str:
    """A pending request past its ``expires_at`` *is* expired, whether or not a writer
    has recorded that yet (:mod:`calisera.bookings.expiry`)."""
    if row.status == "pending" and row.expires_at <= (now or datetime.now(UTC)):
        return "expired"
    return str(row.status)


def booking_out(row: Any, manage_token: str | None = None) -> BookingOut:
    status = effective_status(row)
    return BookingOut(
        id=row.id,
        status=status,
        expires_at=row.expires_at if status == "pending" else None,
        service_id=row.service_id,
        service_kind=row.service_kind,
        service_name=row.service_name,
        provider_id=row.provider_id,
        start=row.start_at,
        end=row.end_at,
        seats=row.seats,
        customer=CustomerOut(
            name=row.customer_name,
            email=row.customer_email,
            phone=row.customer_phone,
            timezone=row.customer_timezone,
        ),
        notes=row.notes,
        answers=row.answers,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        manage_token=manage_token,
        series_id=row.series_id,
    )


async def load_booking(
    session: AsyncSession, booking_id: uuid.UUID, *, for_update: bool = False
) -> Any:
    query = sa.select(bookings).where(bookings.c.id == booking_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise BookingNotFound()
    return row


async def history(session: AsyncSession, booking_id: uuid.UUID) -> list[HistoryEntryOut]:
    h = booking_history
    rows = (
        await session.execute(
            sa.select(h).where(h.c.booking_id == booking_id).order_by(h.c.version, h.c.id)
        )
    ).all()
    return [
        HistoryEntryOut(
            version=r.version,
            action=r.action,
            actor=r.actor,
            actor_id=r.actor_id,
            reason=r.reason,
            status=r.status,
            start=r.start_at,
            end=r.end_at,
            previous_start=r.previous_start_at,
            previous_end=r.previous_end_at,
            occurred_at=r.occurred_at,
        )
        for r in rows
    ]


async def provider_bookings(
    session: AsyncSession,
    provider_id: uuid.UUID,
    *,
    start_from: datetime | None,
    start_to: datetime | None,
    statuses: Sequence[str] = (),
    service_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[BookingOut], str | None]:
    """Bookings of a provider by (start, id), keyset-paginated."""
    b = bookings
    query = sa.select(b).where(b.c.provider_id == provider_id)
    if start_from is not None:
        query = query.where(b.c.start_at >= start_from)
    if start_to is not None:
        query = query.where(b.c.start_at < start_to)
    if statuses:
        query = query.where(b.c.status.in_(list(statuses)))
    if service_id is not None:
        query = query.where(b.c.service_id == service_id)
    query = query.where(after_cursor((b.c.start_at, b.c.id), cursor))
    rows = (await session.execute(query.order_by(b.c.start_at, b.c.id).limit(limit + 1))).all()
    page, next_cursor = page_of(rows, limit, lambda r: (r.start_at, r.id))
    return [booking_out(r) for r in page], next_cursor
