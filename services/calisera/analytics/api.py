"""HTTP routes of the analytics service: provider dashboards (owner or admin only).

Periods are inclusive provider-local dates (``from``/``to``, default the last 30 days,
at most 366 days). A provider the caller does not own is answered 404, as everywhere
(:data:`calisera.core.ownership.OwnedProviderDep`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.analytics import reports
from calisera.analytics.schemas import CustomerMix, Heatmap, ServiceTable, Summary, Timeseries
from calisera.analytics.totals import INTERVALS, METRICS
from calisera.core.dependencies import SessionDep
from calisera.core.ownership import OwnedProvider, OwnedProviderDep
from calisera.core.platform import ServiceSpec
from calisera.core.values import IsoDate

router = APIRouter(prefix="/api/v1/analytics/providers/{provider_id}", tags=["analytics"])

From = Annotated[
    IsoDate | None,
    Query(alias="from", description="First day (YYYY-MM-DD); on or before `to`."),
]
To = Annotated[
    IsoDate | None,
    Query(
        alias="to",
        description=f"Last day, inclusive; at most {reports.MAX_RANGE_DAYS} days after `from`.",
    ),
]

Report = Callable[[AsyncSession, uuid.UUID, reports.Period], Awaitable[dict[str, Any]]]


async def answer(
    session: AsyncSession,
    provider: OwnedProvider,
    first: date | None,
    last: date | None,
    report: Report,
) -> dict[str, Any]:
    """``report`` for the requested period (defaults read in the provider's zone today)."""
    async with session.begin():
        today = await reports.provider_today(session, provider.id, datetime.now(UTC))
        period = reports.resolve_period(first, last, today)
        return await report(session, provider.id, period)


@router.get("/summary", response_model=Summary, response_model_by_alias=True)
async def get_summary(
    provider: OwnedProviderDep, session: SessionDep, first: From = None, last: To = None
) -> dict[str, Any]:
    return await answer(session, provider, first, last, reports.summary)


@router.get("/timeseries", response_model=Timeseries, response_model_by_alias=True)
async def get_timeseries(
    provider: OwnedProviderDep,
    session: SessionDep,
    metric: Annotated[
        str,
        Query(
            description="One of the summary's counters or ratios.",
            json_schema_extra={"enum": list(METRICS)},
        ),
    ] = "bookings_created",
    interval: Annotated[
        str,
        Query(
            description="day, week (from Monday) or month.",
            json_schema_extra={"enum": list(INTERVALS)},
        ),
    ] = "day",
    first: From = None,
    last: To = None,
) -> dict[str, Any]:
    reports.validate_metric(metric, interval)
    series = partial(reports.timeseries, metric=metric, interval=interval)
    return await answer(session, provider, first, last, series)


@router.get("/services", response_model=ServiceTable, response_model_by_alias=True)
async def get_services(
    provider: OwnedProviderDep, session: SessionDep, first: From = None, last: To = None
) -> dict[str, Any]:
    return await answer(session, provider, first, last, reports.service_table)


@router.get("/heatmap", response_model=Heatmap, response_model_by_alias=True)
async def get_heatmap(
    provider: OwnedProviderDep, session: SessionDep, first: From = None, last: To = None
) -> dict[str, Any]:
    return await answer(session, provider, first, last, reports.heatmap)


@router.get("/customers", response_model=CustomerMix, response_model_by_alias=True)
async def get_customers(
    provider: OwnedProviderDep, session: SessionDep, first: From = None, last: To = None
) -> dict[str, Any]:
    return await answer(session, provider, first, last, reports.customer_report)


spec = ServiceSpec(name="analytics", routers=[router], schema="analytics")
