"""A provider's notification preferences: reminder offsets and which channels are on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.notifications.models import (
    provider_settings,
)

DEFAULT_REMINDER_OFFSETS = (24 * 60, 60)


@dataclass(frozen=True)
class ProviderSettings:
    reminder_offsets: tuple[int, ...] = DEFAULT_REMINDER_OFFSETS
    email_provider: bool = True
    push_provider: bool = True
    sms_customer: bool = True


async def get_settings(session: AsyncSession, provider_id: uuid.UUID) -> ProviderSettings:
    row = (
        await session.execute(
            sa.select(provider_settings).where(provider_settings.c.provider_id == provider_id)
        )
    ).first()
    if row is None:
        return ProviderSettings()
    return ProviderSettings(
        reminder_offsets=tuple(row.reminder_offsets),
        email_provider=row.email_provider,
        push_provider=row.push_provider,
        sms_customer=row.sms_customer,
    )


async def put_settings(
    session: AsyncSession, provider_id: uuid.UUID, value: ProviderSettings
) -> ProviderSettings:
    values = {
        "reminder_offsets": sorted(set(value.reminder_offsets), reverse=True),
        "email_provider": value.email_provider,
        "push_provider": value.push_provider,
        "sms_customer": value.sms_customer,
    }
    await session.execute(
        insert(provider_settings)
        .values(provider_id=provider_id, **values)
        .on_conflict_do_update(index_elements=["provider_id"], set_=values)
    )
    return await get_settings(session, provider_id)
