"""The bookings queue: ``provider.deleted`` erases the provider's bookings — and with
them its customers' names, e-mail addresses, phones and notes — their history, busy
time, holds and occurrences, its waitlists, the stored answers of idempotent requests
that created them, and the published outbox rows that carried them. ``service.updated``
of an event or class applies a changed capacity to the occurrences people wait for and
offers what a raise frees (:func:`calisera.bookings.waitlist_offers.apply_capacity`)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.models import (
    booking_history,
    bookings,
    busy_blocks,
    holds,
    occurrences,
    outbox,
    processed_events,
    waitlist_entries,
)
from calisera.bookings.waitlist_offers import apply_capacity
from calisera.core.consumers import Consumer
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.providers.events import PROVIDER_DELETED, SERVICE_UPDATED


async def erase_provider(session: AsyncSession, provider_id: object) -> None:
    ids = list(
        await session.scalars(sa.select(bookings.c.id).where(bookings.c.provider_id == provider_id))
    )
    for booking_id in ids:  # an idempotent answer names its booking in its body
        await session.execute(
            sa.text(
                "DELETE FROM bookings.idempotency_keys"
                " WHERE position(convert_to(:id, 'UTF8') IN response) > 0"
            ),
            {"id": str(booking_id)},
        )
    await session.execute(booking_history.delete().where(booking_history.c.booking_id.in_(ids)))
    await session.execute(
        waitlist_entries.delete().where(waitlist_entries.c.provider_id == provider_id)
    )
    await session.execute(busy_blocks.delete().where(busy_blocks.c.provider_id == provider_id))
    await session.execute(bookings.delete().where(bookings.c.provider_id == provider_id))
    await session.execute(holds.delete().where(holds.c.provider_id == provider_id))
    await session.execute(occurrences.delete().where(occurrences.c.provider_id == provider_id))
    await session.execute(
        outbox.delete().where(
            outbox.c.provider_id == provider_id, outbox.c.published_at.is_not(None)
        )
    )


def consumer(settings: Settings) -> Consumer:
    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        if envelope.type == SERVICE_UPDATED.name:
            service = SERVICE_UPDATED.parse(envelope)
            if service.kind != "simple":
                await apply_capacity(
                    session, service.provider_id, service.id, service.capacity, datetime.now(UTC)
                )
            return
        provider = PROVIDER_DELETED.parse(envelope)
        await erase_provider(session, provider.id)

    return Consumer(
        "bookings", (PROVIDER_DELETED.name, SERVICE_UPDATED.name), handle, processed_events
    )
