"""What the event transport still keeps of an erased subject, forgotten once erased.

Consumers erase a deleted account's or provider's data from their own schemas, but the
platform's transport keeps copies: published outbox rows and confirmed
``relay.deliveries`` hold whole envelopes (customers' names and addresses in booking
events, the owner's e-mail in provider and account events). Once every consumer has
confirmed a deletion event (``account.deleted``, ``provider.deleted``), the relay
removes, in one transaction: the confirmed deliveries of that provider's events, the
published outbox rows of that provider in every schema, and the deletion event itself.
(Consumed messages of kombu's ``sqla+`` transport, when that is the configured broker,
are pruned within the hour anyway.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

ERASURE_EVENTS = ("account.deleted", "provider.deleted")

_DONE = """
SELECT o.id, o.provider_id, o.aggregate_id, o.type FROM {outbox} AS o
WHERE o.type = ANY(%(types)s) AND o.published_at IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM relay.deliveries AS d WHERE d.event_id = o.id AND d.confirmed_at IS NULL
  )
LIMIT 100
"""


def forget_erased(conn: psycopg.Connection[dict[str, Any]], schemas: Sequence[str]) -> int:
    """Run inside the caller's transaction; returns how many deletion events were done."""
    done = 0
    for schema in schemas:
        outbox = sql.Identifier(schema, "outbox")
        rows = conn.execute(
            sql.SQL(_DONE).format(outbox=outbox), {"types": list(ERASURE_EVENTS)}
        ).fetchall()
        for row in rows:
            subject = row["provider_id"] or (
                row["aggregate_id"] if row["type"] == "provider.deleted" else None
            )
            if subject is not None:
                conn.execute(
                    "DELETE FROM relay.deliveries WHERE confirmed_at IS NOT NULL"
                    " AND envelope->>'provider_id' = %s",
                    (str(subject),),
                )
                for other in schemas:
                    conn.execute(
                        sql.SQL(
                            "DELETE FROM {} WHERE provider_id = %s AND published_at IS NOT NULL"
                        ).format(sql.Identifier(other, "outbox")),
                        (subject,),
                    )
            conn.execute("DELETE FROM relay.deliveries WHERE event_id = %s", (row["id"],))
            conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(outbox), (row["id"],))
            done += 1
    _forget_late_confirmations(conn, schemas)
    return done


def _forget_late_confirmations(
    conn: psycopg.Connection[dict[str, Any]], schemas: Sequence[str]
) -> None:
    """A worker confirming a re-published deletion event after it was forgotten inserts
    its delivery row again (the confirm is an upsert): drop confirmed deliveries of
    deletion events whose outbox row is gone."""
    if not schemas:
        return
    missing = sql.SQL(" AND ").join(
        sql.SQL("NOT EXISTS (SELECT 1 FROM {} AS o WHERE o.id = d.event_id)").format(
            sql.Identifier(schema, "outbox")
        )
        for schema in schemas
    )
    conn.execute(
        sql.SQL(
            "DELETE FROM relay.deliveries AS d WHERE d.confirmed_at IS NOT NULL"
            " AND d.event_type = ANY(%(types)s) AND {}"
        ).format(missing),
        {"types": list(ERASURE_EVENTS)},
    )
