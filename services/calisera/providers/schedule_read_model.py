"""The :class:`ScheduleConfig` served to listing and bookings, and its version (the
``ETag`` they revalidate with)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.errors import NotFound
from calisera.providers.availability import availability_columns, availability_out
from calisera.providers.models import (
    Provider,
    Service,
)
from calisera.providers.schemas import (
    ScheduleConfig,
)
from calisera.providers.views import (
    schedule_service,
)


def schedule_etag(service_id: uuid.UUID, schedule_version: int) -> str:
    return f"{service_id.hex}-{schedule_version}"


async def schedule_version(session: AsyncSession, service_id: uuid.UUID) -> str:
    """The current version of a service's :class:`ScheduleConfig` (one indexed lookup)."""
    version = await session.scalar(
        sa.select(Provider.schedule_version)
        .join(Service, Service.provider_id == Provider.id)
        .where(Service.id == service_id)
    )
    if version is None:
        raise NotFound(f"No service {service_id}.")
    return schedule_etag(service_id, version)


async def schedule_config(session: AsyncSession, service_id: uuid.UUID) -> ScheduleConfig:
    """Everything listing and bookings need to compute one service's slots.

    Archived services are still answered (``active: false``) so bookings can apply the
    cancellation policy of existing bookings; listing offers nothing for them.
    """
    # The provider row (and so the version) comes with the availability in one snapshot;
    # the services are read after it: a change committing in between can make content
    # newer than the version, never older, so a cache keyed by the version is never stale.
    row = (
        await session.execute(
            sa.select(Provider, *availability_columns(Provider.id))
            .join(Service, Service.provider_id == Provider.id)
            .where(Service.id == service_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"No service {service_id}.")
    p = row[0]
    availability = availability_out(*row[1:])
    services = (
        await session.scalars(
            sa.select(Service)
            .where(
                Service.provider_id == p.id,
                sa.or_(
                    Service.id == service_id,
                    sa.and_(Service.active, Service.kind.in_(("event", "class"))),
                ),
            )
            .order_by(Service.created_at, Service.id)
        )
    ).all()
    s = next(x for x in services if x.id == service_id)
    others = [x for x in services if x.id != service_id]
    return ScheduleConfig(
        provider_id=p.id,
        provider_slug=p.slug,
        provider_name=p.name,
        provider_suspended=p.suspended,
        timezone=p.timezone,
        weekly=availability.weekly,
        overrides=availability.overrides,
        time_off=availability.time_off,
        service=schedule_service(s),
        other_services=[schedule_service(o) for o in others],
        version=schedule_etag(s.id, p.schedule_version),
    )
