"""The ``integrations`` queue's consumer: booking and provider events -> webhook
deliveries, the feed's read model and CalDAV writes.

Handling only records (deliveries, the booking's newest version, a pending calendar
write) in the consumer's transaction; the network work happens after the commit for
low latency and again on every sweep (retries, scheduled calendar reads), so a slow
or failing receiver or calendar never holds an event back.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.events import BOOKING_EVENTS
from calisera.core.consumers import Consumer, WorkerContext
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.integrations import caldav_writes, erasure, read_models, webhook_delivery
from calisera.integrations.caldav_sync import sync_due
from calisera.integrations.models import processed_events
from calisera.providers.events import PROVIDER_CREATED, PROVIDER_DELETED, PROVIDER_UPDATED

PROVIDER_EVENTS = {t.name: t for t in (PROVIDER_CREATED, PROVIDER_UPDATED)}


async def handle_event(session: AsyncSession, event: EventEnvelope) -> bool:
    """Record the event's effects; False when it queued nothing to send or write (most
    providers have no webhooks and no calendar), so the after-commit work is skipped."""
    if event.type == PROVIDER_DELETED.name:
        await erasure.erase_provider(session, PROVIDER_DELETED.parse(event).id)
        return False
    provider_event = PROVIDER_EVENTS.get(event.type)
    if provider_event is not None:
        await read_models.provider_changed(session, provider_event.parse(event))
        return False
    booking_event = BOOKING_EVENTS.get(event.type)
    if booking_event is None:
        return False
    data = booking_event.parse(event)
    queued = await webhook_delivery.queue_deliveries(session, event) > 0
    if await read_models.advance_booking(session, event.aggregate_version, data):
        queued = await caldav_writes.queue_write(session, data, event.aggregate_version) or queued
    return queued


async def _after_commit(ctx: WorkerContext, event: EventEnvelope) -> None:
    await webhook_delivery.send_due(ctx.settings, ctx.sessionmaker, event_id=event.id)
    if event.type in BOOKING_EVENTS:
        await caldav_writes.write_due(ctx.settings, ctx.sessionmaker, booking_id=event.aggregate_id)


async def _sweep(ctx: WorkerContext) -> None:
    """Every few seconds in each worker: due webhook retries, calendar writes and reads."""
    await webhook_delivery.send_due(ctx.settings, ctx.sessionmaker)
    await caldav_writes.write_due(ctx.settings, ctx.sessionmaker)
    await sync_due(ctx.settings, ctx.sessionmaker)


def consumer(settings: Settings) -> Consumer:
    return Consumer(
        name="integrations",
        event_types=("booking.*", "provider.created", "provider.updated", "provider.deleted"),
        handle=handle_event,
        processed=processed_events,
        after_commit=_after_commit,
        periodic=_sweep,
        periodic_interval=2.0,
    )
