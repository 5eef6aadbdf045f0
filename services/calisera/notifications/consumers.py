"""The ``notifications`` queue's consumer: booking, provider and waitlist-offer events ->
messages."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.consumers import Consumer, WorkerContext
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.notifications import (
    erasure,
    integration_alerts,
    planning,
    reminders,
    sending,
    waitlist_offers,
)
from calisera.notifications.models import processed_events
from calisera.providers.events import PROVIDER_DELETED


async def _send_now(ctx: WorkerContext, event: EventEnvelope) -> None:
    """Right after the handling transaction: send this event's messages (low latency)."""
    await sending.send_pending(ctx, event_id=event.id)


async def _sweep(ctx: WorkerContext) -> None:
    """Every few seconds in each worker: due reminders, retries, expired send leases."""
    async with ctx.sessionmaker() as session, session.begin():
        await reminders.sweep_reminders(session, email=ctx.settings.email_enabled)
    await sending.send_pending(ctx)


def consumer(settings: Settings) -> Consumer:
    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        if event.type in integration_alerts.EVENT_TYPES:
            await integration_alerts.handle_integration_event(
                session, event, email=settings.email_enabled
            )
            return
        if event.type in waitlist_offers.EVENT_TYPES:
            await waitlist_offers.handle_waitlist_event(
                session, event, email=settings.email_enabled
            )
            return
        if event.type == PROVIDER_DELETED.name:
            await erasure.erase_provider(session, PROVIDER_DELETED.parse(event).id)
            return
        await planning.handle_event(session, event, email=settings.email_enabled)

    return Consumer(
        name="notifications",
        event_types=(
            "booking.*",
            "provider.created",
            "provider.updated",
            "provider.deleted",
            *integration_alerts.EVENT_TYPES,
            *waitlist_offers.EVENT_TYPES,
        ),
        handle=handle,
        processed=processed_events,
        after_commit=_send_now,
        periodic=_sweep,
        periodic_interval=2.0,
    )
