"""Transactional outbox: events are rows written in the same transaction as the change.

Each service that emits events has its own ``<schema>.outbox`` table (built by
:func:`outbox_table`). A row becomes visible to the relay only when the business
transaction commits, so a rolled-back change emits nothing. ``NOTIFY`` wakes relays;
it is transactional too, delivered at commit. Subscribers in this process
(:mod:`calisera.core.committed_events`) hear of the event right after the commit.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.after_commit import after_commit
from calisera.core.committed_events import CommittedEvents
from calisera.core.database import COMMITTED_EVENTS_KEY
from calisera.core.events import EventEnvelope

OUTBOX_CHANNEL = "calisera_outbox"


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """The outbox table in ``metadata``'s schema."""
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("aggregate_id", UUID(as_uuid=True), nullable=False),
        sa.Column("aggregate_version", sa.Integer, nullable=False),
        sa.Column("provider_id", UUID(as_uuid=True), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Index(None, "seq", postgresql_where=sa.text("published_at IS NULL")),
        sa.Index(None, "aggregate_id", "aggregate_version"),
    )


async def record_event(session: AsyncSession, outbox: sa.Table, event: EventEnvelope) -> None:
    """Append ``event`` to ``outbox`` inside the caller's transaction."""
    await session.execute(
        outbox.insert().values(
            id=event.id,
            type=event.type,
            aggregate_id=event.aggregate_id,
            aggregate_version=event.aggregate_version,
            provider_id=event.provider_id,
            occurred_at=event.occurred_at,
            envelope=event.model_dump(mode="json"),
        )
    )
    await session.execute(
        sa.text("SELECT pg_notify(:channel, :schema)"),
        {"channel": OUTBOX_CHANNEL, "schema": outbox.schema or ""},
    )
    announce_after_commit(session, event)


def announce_after_commit(session: AsyncSession, event: EventEnvelope) -> None:
    """Hand ``event`` to this process's subscribers once the transaction commits.

    :func:`record_event` does it; code that writes the outbox row in its own statement
    (the bookings fast path) calls it itself."""
    local: CommittedEvents | None = session.info.get(COMMITTED_EVENTS_KEY)
    for name, subscriber in local.subscribers(event.type) if local is not None else ():
        after_commit(session, functools.partial(subscriber, event), name=name)
