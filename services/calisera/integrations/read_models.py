"""What this service keeps of bookings and providers, from their events only.

A booking row holds the newest version seen (an older event changes nothing), which
the feed serves and the CalDAV writer mirrors; a provider row its name and zone (the
zone all-day and floating calendar events are read in).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.events import BookingData
from calisera.integrations.models import bookings, providers
from calisera.providers.events import ProviderData


async def advance_booking(session: AsyncSession, version: int, data: BookingData) -> bool:
    """Keep the booking as of ``version``; False when a newer version is already known."""
    values = {
        "provider_id": data.provider_id,
        "version": version,
        "status": data.status,
        "start_at": data.start,
        "end_at": data.end,
        "data": data.model_dump(mode="json", exclude={"manage_token_sealed"}),
    }
    row = (
        await session.execute(
            insert(bookings)
            .values(booking_id=data.booking_id, **values)
            .on_conflict_do_update(
                index_elements=["booking_id"],
                set_={**values, "updated_at": sa.func.now()},
                where=bookings.c.version < version,
            )
            .returning(bookings.c.version)
        )
    ).first()
    await remember_provider(session, data.provider_id, data.provider_name, data.provider_timezone)
    return row is not None


async def remember_provider(
    session: AsyncSession, provider_id: uuid.UUID, name: str | None, timezone: str | None
) -> None:
    await session.execute(
        _REMEMBER_PROVIDER, {"p_id": provider_id, "p_name": name, "p_timezone": timezone}
    )


_REMEMBER_PROVIDER = (
    insert(providers)
    .values(
        provider_id=sa.bindparam("p_id"),
        name=sa.bindparam("p_name"),
        timezone=sa.bindparam("p_timezone"),
    )
    .on_conflict_do_update(
        index_elements=["provider_id"],
        set_={"name": sa.bindparam("p_name"), "timezone": sa.bindparam("p_timezone")},
        # an unchanged provider (every booking event repeats it) writes no new row version
        where=sa.tuple_(providers.c.name, providers.c.timezone).is_distinct_from(
            sa.tuple_(sa.bindparam("p_name"), sa.bindparam("p_timezone"))
        ),
    )
)
"""Built once (every booking event runs it)."""


async def provider_changed(session: AsyncSession, data: ProviderData) -> None:
    await remember_provider(session, data.id, data.name, data.timezone)
