"""Erasing a deleted provider (``provider.deleted``): its messages (with the customers'
addresses and what was sent), reminders, booking states, sealed manage tokens, settings,
push subscriptions, and the development mailbox's copies of its messages."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.notifications.models import (
    booking_state,
    dev_mailbox,
    manage_tokens,
    messages,
    provider_settings,
    providers,
    push_subscriptions,
    reminders,
)


async def erase_provider(session: AsyncSession, provider_id: uuid.UUID) -> None:
    bookings: list[uuid.UUID] = list(
        await session.scalars(
            sa.select(sa.literal_column("booking_id")).select_from(
                sa.union(
                    sa.select(messages.c.booking_id.label("booking_id")).where(
                        messages.c.provider_id == provider_id, messages.c.booking_id.is_not(None)
                    ),
                    sa.select(reminders.c.booking_id.label("booking_id")).where(
                        reminders.c.provider_id == provider_id
                    ),
                ).subquery()
            )
        )
    )
    recipients = sa.select(messages.c.recipient).where(
        messages.c.provider_id == provider_id, messages.c.channel == "email"
    )
    await session.execute(dev_mailbox.delete().where(dev_mailbox.c.recipient.in_(recipients)))
    await session.execute(manage_tokens.delete().where(manage_tokens.c.booking_id.in_(bookings)))
    await session.execute(booking_state.delete().where(booking_state.c.booking_id.in_(bookings)))
    await session.execute(reminders.delete().where(reminders.c.provider_id == provider_id))
    await session.execute(messages.delete().where(messages.c.provider_id == provider_id))
    for table in (provider_settings, providers, push_subscriptions):
        await session.execute(table.delete().where(table.c.provider_id == provider_id))
