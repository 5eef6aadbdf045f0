"""The delivery log: ``messages`` rows, one per (event, channel, recipient), recorded in
the consumer's transaction and listed, newest first, for the provider.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.pagination import after_cursor, page_of
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
        _QUEUE,
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
        ],
    )


_QUEUE = insert(messages).on_conflict_do_nothing(constraint="uq_messages_dedup")
"""Built once, run with the rows (psycopg pipelines them): a multi-row VALUES statement
is compiled and keyed anew for its values on every event."""


async def delivery_page(
    session: AsyncSession, provider_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of the delivery log, newest first."""
    query = (
        sa.select(messages)
        .where(messages.c.provider_id == provider_id)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(limit + 1)
    )
    query = query.where(
        after_cursor((messages.c.created_at, messages.c.id), cursor, descending=True)
    )
    rows = (await session.execute(query)).all()
    return page_of(rows, limit, lambda r: (r.created_at, r.id))
