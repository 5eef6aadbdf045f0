"""The webhook delivery log of one endpoint: deliveries newest first, each with its
last attempts (status, latency, response excerpt)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.pagination import after_cursor, page_of
from calisera.integrations.errors import WebhookDeliveryNotFound
from calisera.integrations.models import webhook_attempts, webhook_deliveries
from calisera.integrations.schemas import WebhookAttemptOut, WebhookDeliveryOut

ATTEMPTS_SHOWN = 20
_COLUMNS = [c for c in webhook_deliveries.c if c.name != "payload"]


async def delivery_page(
    session: AsyncSession, endpoint_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[WebhookDeliveryOut], str | None]:
    order = (webhook_deliveries.c.created_at, webhook_deliveries.c.id)
    rows = (
        await session.execute(
            sa.select(*_COLUMNS)
            .where(
                webhook_deliveries.c.endpoint_id == endpoint_id,
                after_cursor(order, cursor, descending=True),
            )
            .order_by(*(c.desc() for c in order))
            .limit(limit + 1)
        )
    ).all()
    items, next_cursor = page_of(rows, limit, lambda r: (r.created_at, r.id))
    attempts = await _attempts(session, [r.id for r in items])
    return [_out(r, attempts.get(r.id, [])) for r in items], next_cursor


async def get_delivery(
    session: AsyncSession, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDeliveryOut:
    row = (
        await session.execute(
            sa.select(*_COLUMNS).where(
                webhook_deliveries.c.id == delivery_id,
                webhook_deliveries.c.endpoint_id == endpoint_id,
            )
        )
    ).first()
    if row is None:
        raise WebhookDeliveryNotFound(f"No delivery {delivery_id} for this endpoint.")
    attempts = await _attempts(session, [row.id])
    return _out(row, attempts.get(row.id, []))


async def _attempts(
    session: AsyncSession, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttemptOut]]:
    if not delivery_ids:
        return {}
    ranked = (
        sa.select(
            webhook_attempts,
            sa.func.row_number()
            .over(
                partition_by=webhook_attempts.c.delivery_id,
                order_by=webhook_attempts.c.id.desc(),
            )
            .label("rank"),
        )
        .where(webhook_attempts.c.delivery_id.in_(delivery_ids))
        .subquery()
    )
    rows = await session.execute(
        sa.select(ranked).where(ranked.c.rank <= ATTEMPTS_SHOWN).order_by(ranked.c.id.desc())
    )
    found: dict[uuid.UUID, list[WebhookAttemptOut]] = {}
    for r in rows:
        found.setdefault(r.delivery_id, []).append(
            WebhookAttemptOut(
                attempted_at=r.attempted_at,
                status_code=r.status_code,
                latency_ms=r.latency_ms,
                response_excerpt=r.response_excerpt,
                error=r.error,
            )
        )
    return found


def _out(row: Any, attempts: list[WebhookAttemptOut]) -> WebhookDeliveryOut:
    waiting = row.status in ("pending", "sending")
    return WebhookDeliveryOut(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if waiting else None,
        last_attempt_at=row.last_attempt_at,
        delivered_at=row.delivered_at,
        last_status_code=row.last_status_code,
        last_latency_ms=row.last_latency_ms,
        last_response_excerpt=row.last_response_excerpt,
        last_error=row.last_error,
        created_at=row.created_at,
        attempt_log=attempts,
    )
