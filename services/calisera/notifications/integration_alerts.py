"""E-mail to a provider's owner about their integrations (``integration.*`` events of
the integrations service): so far, a webhook endpoint disabled after a day of failed
deliveries. Recorded like booking messages (one per event and recipient), rendered by
:func:`render_integration`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.events import EventEnvelope
from calisera.integrations.events import WEBHOOK_DISABLED
from calisera.notifications.deliveries import queue_messages
from calisera.notifications.models import providers

TEMPLATE = "integration"


class ProviderNotKnownYet(Exception):
    """The owner's address is not known yet (its ``provider.*`` event is still on its way)."""


EVENT_TYPES = (WEBHOOK_DISABLED.name,)


async def handle_integration_event(
    session: AsyncSession, event: EventEnvelope, *, email: bool
) -> None:
    if event.type != WEBHOOK_DISABLED.name or not email:
        return
    data = WEBHOOK_DISABLED.parse(event)
    owner = (
        await session.execute(
            sa.select(providers.c.owner_email, providers.c.name).where(
                providers.c.provider_id == data.provider_id
            )
        )
    ).first()
    if owner is None:
        # provider.created comes from another outbox and may still be on its way: fail,
        # so the worker retries (and finally dead-letters, replayable) rather than drop
        raise ProviderNotKnownYet(f"provider {data.provider_id} is not known here yet")
    if not owner.owner_email:
        return
    payload: dict[str, Any] = {
        **data.model_dump(mode="json"),
        "kind": "webhook_disabled",
        "provider_name": owner.name,
    }
    await queue_messages(
        session,
        event.id,
        data.provider_id,
        None,
        payload,
        [("email", owner.owner_email, TEMPLATE)],
    )


def subject(payload: dict[str, Any]) -> str:
    return f"Webhook endpoint disabled: {payload.get('url')}"


def context(payload: dict[str, Any], public_url: str) -> dict[str, Any]:
    since = payload.get("failing_since")
    return {
        "url": payload.get("url"),
        "since": datetime.fromisoformat(since).strftime("%d %B %Y, %H:%M UTC") if since else "",
        "last_error": payload.get("last_error"),
        "console_url": f"{public_url.rstrip('/')}/console",
    }
