"""``calisera dlq list|replay``: the deliveries a consumer gave up on, and handing them back.

A delivery is dead-lettered after ``CALISERA_DELIVERY_MAX_ATTEMPTS`` failures, or at once
for a :class:`~calisera.core.events.PermanentEventError`; its last error is kept. Replaying
resets it and wakes the relay, which publishes it again at once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from calisera.core.database import libpq_url
from calisera.core.outbox import OUTBOX_CHANNEL
from calisera.core.settings import Settings
from calisera.processes import deliveries


def _connect(settings: Settings) -> psycopg.Connection[dict[str, Any]]:
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set")
    return psycopg.connect(libpq_url(settings.database_url), row_factory=dict_row)


def dead_letters(settings: Settings, consumer: str | None = None) -> list[dict[str, Any]]:
    """Dead-lettered deliveries (of one consumer queue), oldest first."""
    with _connect(settings) as conn:
        return deliveries.dead_letters(conn, consumer)


def describe(row: dict[str, Any]) -> str:
    """One line of ``calisera dlq list``: which event, where, how often, and why."""
    error = (row["last_error"] or "").splitlines()
    return (
        f"{row['event_id']}  {row['consumer']:<14} {row['event_type']:<22} "
        f"failures={row['failures']} dead_at={row['dead_at']:%Y-%m-%dT%H:%M:%S%z}  "
        f"{error[0][:120] if error else ''}"
    )


def replay_dead_letters(
    settings: Settings, consumer: str | None = None, event_id: UUID | None = None
) -> int:
    """Put dead-lettered deliveries back in the relay's hands; it publishes them now."""
    with _connect(settings) as conn:
        count = deliveries.replay(conn, consumer, event_id)
        conn.execute("SELECT pg_notify(%s, 'relay')", (OUTBOX_CHANNEL,))
    return count
