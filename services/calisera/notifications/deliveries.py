"""The delivery log: ``messages`` rows, one per (event, channel, recipient), recorded in
the consumer's transaction and listed, newest first, for the provider.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.notifications.models import (
    messages,
)


async def queue_messages(
    session: AsyncSession,
    event_id: uuid.UUID,
    provider_id: uuid.UUID,
    booking_id: uuid.UUID | None,
    payload: dict[str, Any],
    planned: list[tuple[str, str, str]],
) -> None:
    if not planned:
        return
    now = datetime.now(UTC)
    await session.execute(
        insert(messages)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "event_id": event_id,
                    "channel": channel,
                    "recipient": recipient,
                    "provider_id": provider_id,
                    "booking_id": booking_id,
                    "template": template,
                    "payload": payload,
                    "next_attempt_at": now,
                }
                for channel, recipient, template in planned
            ]
        )
        .on_conflict_do_nothing(constraint="uq_messages_dedup")
    )


def _encode_cursor(created_at: datetime, message_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{message_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    created, _, message_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    return datetime.fromisoformat(created), uuid.UUID(message_id)


async def delivery_page(
    session: AsyncSession, provider_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    query = (
        sa.select(messages)
        .where(messages.c.provider_id == provider_id)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        created, message_id = _decode_cursor(cursor)
        query = query.where(sa.tuple_(messages.c.created_at, messages.c.id) < (created, message_id))
    rows = list((await session.execute(query)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, next_cursor


def valid_cursor(cursor: str) -> bool:
    try:
        _decode_cursor(cursor)
    except (ValueError, UnicodeDecodeError):
        return False
    return True
