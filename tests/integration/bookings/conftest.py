"""Bookings test support: a provider's schedule configuration and a booking helper.

The providers service is written in parallel; until its client is merged, the tests
install a fixed :class:`ScheduleSource` (what ``ProvidersClient`` returns) into the
bookings service state. Everything below it — routes, service, PostgreSQL — is real.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from calisera.core.errors import NotFound
from calisera.providers.schemas import (
    RecurrenceOut,
    ScheduleConfig,
    ServiceScheduleOut,
    WeeklyRuleOut,
)

OWNER_EMAIL = "owner@example.com"


class StaticSchedules:
    """Schedule configurations by service id, and provider owners. Classes meet daily
    at 18:00 UTC; providers work around the clock in UTC."""

    def __init__(self) -> None:
        self.configs: dict[uuid.UUID, ScheduleConfig] = {}
        self.owners: dict[uuid.UUID, dict[str, Any]] = {}

    async def schedule_config(self, service_id: uuid.UUID) -> ScheduleConfig:
        try:
            return self.configs[service_id]
        except KeyError:
            raise NotFound("No such service.") from None

    async def get_provider(self, provider_id: uuid.UUID) -> dict[str, Any]:
        try:
            return self.owners[provider_id]
        except KeyError:
            raise NotFound("No such provider.") from None

    def add_service(
        self,
        *,
        provider_id: uuid.UUID | None = None,
        kind: str = "simple",
        duration_minutes: int = 30,
        capacity: int = 1,
        buffer_before_minutes: int = 0,
        buffer_after_minutes: int = 0,
        cancellation_notice_minutes: int = 0,
        starts_at: datetime | None = None,
        slot_interval_minutes: int | None = None,
        owner_email: str = OWNER_EMAIL,
    ) -> ScheduleConfig:
        provider_id = provider_id or uuid.uuid4()
        service = ServiceScheduleOut(
            id=uuid.uuid4(),
            provider_id=provider_id,
            name=f"{kind.title()} session",
            kind=kind,  # type: ignore[arg-type]
            duration_minutes=duration_minutes,
            capacity=capacity,
            buffer_before_minutes=buffer_before_minutes,
            buffer_after_minutes=buffer_after_minutes,
            min_notice_minutes=0,
            booking_window_days=365,
            cancellation_notice_minutes=cancellation_notice_minutes,
            starts_at=starts_at,
            slot_interval_minutes=slot_interval_minutes,
            recurrence=RecurrenceOut(
                rrule="FREQ=DAILY", start_time=time(18, 0), starts_on=datetime.now(UTC).date()
            )
            if kind == "class"
            else None,
        )
        config = ScheduleConfig(
            provider_id=provider_id,
            provider_slug=f"p-{provider_id.hex[:8]}",
            provider_name="Ada Coach",
            timezone="UTC",
            weekly=[WeeklyRuleOut(weekday=d, start=time(0, 0), end=time(23, 59)) for d in range(7)],
            overrides=[],
            time_off=[],
            service=service,
            other_services=[],
            version="1",
        )
        self.configs[service.id] = config
        self.owners[provider_id] = {"id": str(provider_id), "owner_email": owner_email}
        return config


@pytest.fixture
def schedules(app: Any) -> StaticSchedules:
    source = StaticSchedules()
    app.state.platform.state["bookings"].schedules = source
    return source


def tomorrow_at(hour: int, minute: int = 0, days: int = 1) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), UTC)


def booking_body(config: ScheduleConfig, start: datetime, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_id": str(config.service.id),
        "start": start.isoformat(),
        "customer": {"name": "Grace Hopper", "email": "grace@example.com"},
    }
    body.update(over)
    return body


@pytest.fixture
def book(client: Any) -> Callable[..., Any]:
    async def make(config: ScheduleConfig, start: datetime, headers: Any = None, **over: Any):
        return await client.post(
            "/api/v1/bookings", json=booking_body(config, start, **over), headers=headers or {}
        )

    return make
