"""Reading bookings: one booking, its history, and a provider's list."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.errors import BookingNotFound
from calisera.bookings.models import booking_history, bookings
from calisera.bookings.schemas import BookingOut, CustomerOut, HistoryEntryOut
from calisera.core.errors import InvalidInput


def booking_out(row: Any, manage_token: str | None = None) -> BookingOut:
    return BookingOut(
        id=row.id,
        status=row.status,
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
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        manage_token=manage_token,
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


def encode_cursor(start: datetime, booking_id: uuid.UUID) -> str:
    raw = f"{start.isoformat()}|{booking_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, _, ident = raw.partition("|")
        parsed = datetime.fromisoformat(start)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput.field("cursor", "not a cursor from this list") from exc


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
    if cursor:
        after_start, after_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(b.c.start_at, b.c.id) > sa.tuple_(after_start, after_id))
    rows = (await session.execute(query.order_by(b.c.start_at, b.c.id).limit(limit + 1))).all()
    items = [booking_out(r) for r in rows[:limit]]
    next_cursor = (
        encode_cursor(rows[limit - 1].start_at, rows[limit - 1].id) if len(rows) > limit else None
    )
    return items, next_cursor
