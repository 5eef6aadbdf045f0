"""HTTP routes of the analytics service: provider dashboards (owner or admin only).

Periods are inclusive provider-local dates (``from``/``to``, default the last 30 days,
at most 366 days).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from calisera.analytics import service
from calisera.analytics.schemas import CustomerMix, Heatmap, ServiceTable, Summary, Timeseries
from calisera.core.auth import CurrentPrincipal, Principal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.ownership import authorize_provider
from calisera.core.platform import Platform, ServiceSpec

router = APIRouter(prefix="/api/v1/analytics/providers/{provider_id}", tags=["analytics"])

From = Annotated[date | None, Query(alias="from", description="First day (YYYY-MM-DD).")]
To = Annotated[date | None, Query(alias="to", description="Last day, inclusive.")]


async def authorize(platform: Platform, principal: Principal, provider_id: uuid.UUID) -> None:
    """Admins see every provider; a signed-in user only the providers they own (else 404)."""
    await authorize_provider(platform.owners, principal, provider_id)


async def _period(
    session: SessionDep, provider_id: uuid.UUID, first: date | None, last: date | None
) -> service.Period:
    today = await service.provider_today(session, provider_id, datetime.now(UTC))
    return service.resolve_period(first, last, today)


@router.get("/summary", response_model=Summary, response_model_by_alias=True)
async def get_summary(
    provider_id: uuid.UUID,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    session: SessionDep,
    first: From = None,
    last: To = None,
) -> dict[str, Any]:
    await authorize(platform, principal, provider_id)
    async with session.begin():
        period = await _period(session, provider_id, first, last)
        return await service.summary(session, provider_id, period)


@router.get("/timeseries", response_model=Timeseries, response_model_by_alias=True)
async def get_timeseries(
    provider_id: uuid.UUID,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    session: SessionDep,
    metric: Annotated[str, Query(description="One of the summary's counters or ratios.")] = (
        "bookings_created"
    ),
    interval: Annotated[str, Query(description="day, week (from Monday) or month.")] = "day",
    first: From = None,
    last: To = None,
) -> dict[str, Any]:
    service.validate_metric(metric, interval)
    await authorize(platform, principal, provider_id)
    async with session.begin():
        period = await _period(session, provider_id, first, last)
        return await service.timeseries(session, provider_id, period, metric, interval)


@router.get("/services", response_model=ServiceTable, response_model_by_alias=True)
async def get_services(
    provider_id: uuid.UUID,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    session: SessionDep,
    first: From = None,
    last: To = None,
) -> dict[str, Any]:
    await authorize(platform, principal, provider_id)
    async with session.begin():
        period = await _period(session, provider_id, first, last)
        return await service.service_table(session, provider_id, period)


@router.get("/heatmap", response_model=Heatmap, response_model_by_alias=True)
async def get_heatmap(
    provider_id: uuid.UUID,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    session: SessionDep,
    first: From = None,
    last: To = None,
) -> dict[str, Any]:
    await authorize(platform, principal, provider_id)
    async with session.begin():
        period = await _period(session, provider_id, first, last)
        return await service.heatmap(session, provider_id, period)


@router.get("/customers", response_model=CustomerMix, response_model_by_alias=True)
async def get_customers(
    provider_id: uuid.UUID,
    principal: CurrentPrincipal,
    platform: PlatformDep,
    session: SessionDep,
    first: From = None,
    last: To = None,
) -> dict[str, Any]:
    await authorize(platform, principal, provider_id)
    async with session.begin():
        period = await _period(session, provider_id, first, last)
        return await service.customer_report(session, provider_id, period)


spec = ServiceSpec(name="analytics", routers=[router], schema="analytics")
