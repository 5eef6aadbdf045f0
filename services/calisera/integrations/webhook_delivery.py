"""Webhook deliveries: queued in the consumer's transaction, sent signed, retried.

Each (endpoint, event) is one ``webhook_deliveries`` row (unique), so a redelivered
event queues nothing twice. Sending follows the notifications pattern: rows are leased
(``sending``, ``next_attempt_at`` = now + visibility timeout) in a short transaction,
POSTed outside it, then recorded; a worker killed mid-send leaves the lease to expire
and the sweep sends again (a receiver deduplicates by ``webhook-id``, the event id).

Signature: Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``), by the
``standardwebhooks`` library. A failure (no answer, timeout, non-2xx) is retried
after :data:`backoff` steps until ``CALISERA_WEBHOOK_RETRY_WINDOW_SECONDS`` (a day)
has passed since the first attempt, then the delivery is ``failed``; when nothing
reached the endpoint during that whole window either, it is disabled and an
``integration.webhook_disabled`` event (outbox, same transaction) has the provider
e-mailed. Every attempt is logged (status, latency, first 500 characters).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from calisera.core.backoff import Backoff
from calisera.core.events import EventEnvelope, new_event
from calisera.core.outbox import record_event
from calisera.core.settings import Settings
from calisera.integrations.events import SOURCE, WEBHOOK_DISABLED, WebhookDisabledData
from calisera.integrations.models import (
    outbox,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)
from calisera.integrations.network_policy import AddressRefused, check_url
from calisera.integrations.secrets import WEBHOOK_SECRET, unseal_secret

log = structlog.get_logger("calisera.integrations.webhooks")
EXCERPT = 500
MAX_READ = 4096
PARALLEL_SENDS = 8
USER_AGENT = "Calisera-Webhooks/1"

ATTEMPTS = Counter(
    "calisera_webhook_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"]
)


def backoff(settings: Settings) -> Backoff:
    """5 s, 15 s, 45 s ... tripling up to four hours apart, with 20 % jitter."""
    return Backoff(base=settings.webhook_retry_base_seconds, factor=3.0, cap=4 * 3600, jitter=0.2)


def webhook_body(event: EventEnvelope) -> str:
    """The Standard Webhooks payload: ``type``, ``timestamp``, ``data`` (the booking
    after the change; sealed fields never leave)."""
    data = {k: v for k, v in event.data.items() if k != "manage_token_sealed"}
    return json.dumps(
        {
            "type": event.type,
            "timestamp": event.occurred_at.astimezone(UTC).isoformat(),
            "data": data,
        },
        separators=(",", ":"),
    )


_WANTING = sa.select(webhook_endpoints.c.id).where(
    webhook_endpoints.c.provider_id == sa.bindparam("of_provider"),
    webhook_endpoints.c.enabled,
    sa.bindparam("of_type", type_=sa.Text) == sa.any_(webhook_endpoints.c.event_types),
)
"""The provider's enabled endpoints that want the event type (built once: every booking
event asks, and most providers have none)."""


async def queue_deliveries(session: AsyncSession, event: EventEnvelope) -> int:
    """One pending delivery per enabled endpoint of the provider that wants the event."""
    if event.provider_id is None:
        return 0
    endpoints = (
        await session.scalars(_WANTING, {"of_provider": event.provider_id, "of_type": event.type})
    ).all()
    if not endpoints:
        return 0
    now = datetime.now(UTC)
    body = webhook_body(event)
    await session.execute(
        insert(webhook_deliveries)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "endpoint_id": endpoint_id,
                    "provider_id": event.provider_id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "payload": body,
                    "next_attempt_at": now,
                    "window_started_at": now,
                }
                for endpoint_id in endpoints
            ]
        )
        .on_conflict_do_nothing(constraint="uq_webhook_deliveries_event")
    )
    return len(endpoints)


async def send_due(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    event_id: uuid.UUID | None = None,
    limit: int = 50,
) -> int:
    """Send what is due (all, or one event's); returns how many were delivered."""
    delivered = 0
    lease = timedelta(seconds=settings.relay_visibility_timeout + settings.webhook_timeout_seconds)
    while True:
        async with sessionmaker() as session, session.begin():
            query = (
                sa.select(
                    webhook_deliveries,
                    webhook_endpoints.c.url,
                    webhook_endpoints.c.secret_sealed,
                    webhook_endpoints.c.enabled,
                )
                .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
                .where(
                    webhook_deliveries.c.status.in_(("pending", "sending")),
                    webhook_deliveries.c.next_attempt_at <= sa.func.now(),
                )
                .order_by(webhook_deliveries.c.next_attempt_at)
                .limit(limit)
                .with_for_update(of=webhook_deliveries, skip_locked=True)
            )
            if event_id is not None:
                query = query.where(webhook_deliveries.c.event_id == event_id)
            batch = (await session.execute(query)).all()
            if batch:
                await session.execute(
                    webhook_deliveries.update()
                    .where(webhook_deliveries.c.id.in_([d.id for d in batch]))
                    .values(status="sending", next_attempt_at=sa.func.now() + lease)
                )
        if not batch:
            return delivered
        gate = asyncio.Semaphore(PARALLEL_SENDS)
        delivered += sum(
            await asyncio.gather(*(_gated(gate, settings, sessionmaker, r) for r in batch))
        )
        if len(batch) < limit:
            return delivered


async def _gated(
    gate: asyncio.Semaphore,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    row: Any,
) -> bool:
    async with gate:
        return await _attempt(settings, sessionmaker, row)


async def _attempt(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], row: Any
) -> bool:
    if not row.enabled:
        await _finish(sessionmaker, row, status="failed", error="the endpoint is disabled")
        return False
    secret = unseal_secret(settings, WEBHOOK_SECRET, row.secret_sealed)
    msg_id = f"msg_{row.event_id.hex}"
    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, row.payload),
    }
    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None
    started = time.perf_counter()
    try:
        await check_url(settings, row.url)
        async with (
            httpx.AsyncClient(
                timeout=settings.webhook_timeout_seconds, follow_redirects=False
            ) as http,
            http.stream("POST", row.url, content=row.payload, headers=headers) as answer,
        ):
            status_code = answer.status_code
            raw = b""
            async for chunk in answer.aiter_bytes():
                raw += chunk
                if len(raw) >= MAX_READ:
                    break
            excerpt = raw.decode("utf-8", errors="replace")[:EXCERPT] or None
    except (httpx.HTTPError, AddressRefused) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__
    latency_ms = int((time.perf_counter() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    if not ok and error is None:
        error = f"the receiver answered {status_code}"
    async with sessionmaker() as session, session.begin():
        await session.execute(
            webhook_attempts.insert().values(
                delivery_id=row.id,
                attempted_at=now,
                status_code=status_code,
                latency_ms=latency_ms,
                response_excerpt=excerpt,
                error=None if ok else error,
            )
        )
        last = {
            "attempts": webhook_deliveries.c.attempts + 1,
            "last_attempt_at": now,
            "last_status_code": status_code,
            "last_latency_ms": latency_ms,
            "last_response_excerpt": excerpt,
            "last_error": None if ok else error,
        }
        if ok:
            await session.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.id == row.id)
                .values(**last, status="delivered", delivered_at=now)
            )
            await session.execute(
                webhook_endpoints.update()
                .where(webhook_endpoints.c.id == row.endpoint_id)
                .values(failing_since=None)
            )
        else:
            await _failed(session, settings, row, now, last, error or "failed")
    ATTEMPTS.labels("delivered" if ok else "failed").inc()
    log.info(
        "webhook_attempt",
        delivery_id=str(row.id),
        endpoint_id=str(row.endpoint_id),
        event_type=row.event_type,
        status_code=status_code,
        latency_ms=latency_ms,
        ok=ok,
    )
    return ok


async def _failed(
    session: AsyncSession,
    settings: Settings,
    row: Any,
    now: datetime,
    last: dict[str, Any],
    error: str,
) -> None:
    window = timedelta(seconds=settings.webhook_retry_window_seconds)
    delay = timedelta(seconds=backoff(settings).delay(row.attempts + 1))
    give_up = now + delay > row.window_started_at + window
    await session.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.id == row.id)
        .values(
            **last,
            status="failed" if give_up else "pending",
            next_attempt_at=now + delay,
        )
    )
    endpoint = (
        await session.execute(
            webhook_endpoints.update()
            .where(webhook_endpoints.c.id == row.endpoint_id)
            .values(failing_since=sa.func.coalesce(webhook_endpoints.c.failing_since, now))
            .returning(
                webhook_endpoints.c.failing_since,
                webhook_endpoints.c.enabled,
                webhook_endpoints.c.provider_id,
                webhook_endpoints.c.url,
            )
        )
    ).one()
    if not give_up or not endpoint.enabled:
        return
    first_attempt = await session.scalar(
        sa.select(sa.func.min(webhook_attempts.c.attempted_at)).where(
            webhook_attempts.c.delivery_id == row.id,
            webhook_attempts.c.attempted_at >= row.window_started_at,
        )
    )
    if first_attempt is not None and endpoint.failing_since <= first_attempt:
        # Nothing reached the endpoint during this delivery's whole retry window.
        await _disable(session, row.endpoint_id, endpoint, error)


async def _disable(
    session: AsyncSession, endpoint_id: uuid.UUID, endpoint: Any, error: str
) -> None:
    """Switch the endpoint off, stop its queued deliveries, tell the provider (outbox)."""
    await session.execute(
        webhook_endpoints.update()
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(
            enabled=False,
            disabled_reason="every delivery failed for the whole retry window",
            updated_at=sa.func.now(),
        )
    )
    await session.execute(
        webhook_deliveries.update()
        .where(
            webhook_deliveries.c.endpoint_id == endpoint_id,
            webhook_deliveries.c.status == "pending",
        )
        .values(status="failed", last_error="the endpoint was disabled")
    )
    version = await session.scalar(
        sa.select(sa.func.count()).where(outbox.c.aggregate_id == endpoint_id)
    )
    await record_event(
        session,
        outbox,
        new_event(
            WEBHOOK_DISABLED,
            data=WebhookDisabledData(
                endpoint_id=endpoint_id,
                provider_id=endpoint.provider_id,
                url=endpoint.url,
                failing_since=endpoint.failing_since,
                last_error=error,
            ),
            source=SOURCE,
            aggregate_id=endpoint_id,
            aggregate_version=(version or 0) + 1,
            provider_id=endpoint.provider_id,
        ),
    )
    log.warning("webhook_endpoint_disabled", endpoint_id=str(endpoint_id))


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession], row: Any, *, status: str, error: str
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.id == row.id)
            .values(status=status, last_error=error)
        )


async def redeliver(session: AsyncSession, delivery_id: uuid.UUID) -> None:
    """Queue a delivery again now, with a fresh retry window (the log keeps its past)."""
    now = datetime.now(UTC)
    await session.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.id == delivery_id)
        .values(status="pending", next_attempt_at=now, window_started_at=now)
    )
