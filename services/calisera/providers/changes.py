"""Recording a change: its event in ``providers.outbox`` (same transaction, so a rollback
drops it) and, for anything that shapes slots, a new schedule version."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.events import EventData, EventType, new_event
from calisera.core.outbox import record_event
from calisera.core.settings import Settings
from calisera.providers import events
from calisera.providers.models import (
    Provider,
    Service,
    outbox,
)
from calisera.providers.views import (
    provider_out,
    service_out,
)

D = TypeVar("D", bound=EventData)


def provider_event_data(p: Provider, settings: Settings, **extra: Any) -> events.ProviderData:
    return events.ProviderData.model_validate({**provider_out(p, settings).model_dump(), **extra})


def service_event_data(s: Service, **extra: Any) -> events.ServiceData:
    return events.ServiceData.model_validate({**service_out(s).model_dump(), **extra})


async def record_change(
    session: AsyncSession,
    type_: EventType[D],
    *,
    aggregate_id: uuid.UUID,
    aggregate_version: int,
    provider_id: uuid.UUID,
    data: D,
) -> None:
    event = new_event(
        type_,
        source=events.SOURCE,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        provider_id=provider_id,
        data=data,
    )
    await record_event(session, outbox, event)


async def record_provider_change(
    session: AsyncSession,
    type_: EventType[events.ProviderData],
    p: Provider,
    settings: Settings,
    **extra: Any,
) -> None:
    """The provider's event at its current version, carrying the full record."""
    data = provider_event_data(p, settings, **extra)
    await record_change(
        session, type_, aggregate_id=p.id, aggregate_version=p.version, provider_id=p.id, data=data
    )


async def record_service_change(
    session: AsyncSession, type_: EventType[events.ServiceData], s: Service, **extra: Any
) -> None:
    """Write the service row, move the provider's schedule version, record the event."""
    await session.flush()
    await bump_schedule(session, s.provider_id)
    await record_change(
        session,
        type_,
        aggregate_id=s.id,
        aggregate_version=s.version,
        provider_id=s.provider_id,
        data=service_event_data(s, **extra),
    )


async def bump_schedule(session: AsyncSession, provider_id: uuid.UUID) -> None:
    """Any change of a provider's services moves its schedule version (and takes the
    provider row lock, which serialises concurrent catalog changes of one provider)."""
    await session.execute(
        sa.update(Provider)
        .where(Provider.id == provider_id)
        .values(schedule_version=Provider.schedule_version + 1)
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
