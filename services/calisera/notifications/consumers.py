"""The ``notifications`` queue's consumer: booking and provider events -> messages."""

from __future__ import annotations

from calisera.core.consumers import Consumer, WorkerContext
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.notifications import service
from calisera.notifications.models import processed_events


async def _send_now(ctx: WorkerContext, event: EventEnvelope) -> None:
    """Right after the handling transaction: send this event's messages (low latency)."""
    await service.send_pending(ctx, event_id=event.id)


async def _sweep(ctx: WorkerContext) -> None:
    """Every few seconds in each worker: due reminders, retries, expired send leases."""
    async with ctx.sessionmaker() as session, session.begin():
        await service.sweep_reminders(session)
    await service.send_pending(ctx)


def consumer(settings: Settings) -> Consumer:
    return Consumer(
        name="notifications",
        event_types=("booking.*", "provider.created", "provider.updated"),
        handle=service.handle_event,
        processed=processed_events,
        after_commit=_send_now,
        periodic=_sweep,
        periodic_interval=2.0,
    )
