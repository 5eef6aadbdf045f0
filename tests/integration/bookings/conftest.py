"""Bookings test support: real providers and services, created through the providers
API, and a booking helper.

``schedules.add_service(...)`` creates a provider (working around the clock in UTC,
owned by ``owner@example.com``) or reuses one, adds a service with the given fields,
and returns the :class:`ScheduleConfig` the bookings service will see.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from calisera.providers.schemas import ScheduleConfig

OWNER_EMAIL = "owner@example.com"
_seq = itertools.count()


class Providers:
    """Creates providers and services through the public providers API."""

    def __init__(self, client: Any, admin_headers: dict[str, str]):
        self.client = client
        self.admin = admin_headers

    async def _provider(self, owner_email: str) -> uuid.UUID:
        n = next(_seq)
        r = await self.client.post(
            "/api/v1/providers",
            json={
                "slug": f"bk-provider-{n}-{uuid.uuid4().hex[:6]}",
                "name": "Ada Coach",
                "timezone": "UTC",
                "owner_email": owner_email,
            },
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        provider_id = uuid.UUID(r.json()["id"])
        weekly = [{"weekday": d, "start": "00:00", "end": "23:55"} for d in range(7)]
        r = await self.client.put(
            f"/api/v1/providers/{provider_id}/availability",
            json={"weekly": weekly, "overrides": [], "time_off": []},
            headers=self.admin,
        )
        assert r.status_code == 200, r.text
        return provider_id

    async def add_service(
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
        **fields: Any,
    ) -> ScheduleConfig:
        provider_id = provider_id or await self._provider(owner_email)
        body: dict[str, Any] = {
            "name": f"{kind.title()} session {next(_seq)}",
            "kind": kind,
            "duration_minutes": duration_minutes,
            "min_notice_minutes": 0,
            "booking_window_days": 365,
            "cancellation_notice_minutes": cancellation_notice_minutes,
        }
        body.update(fields)
        if kind == "simple":
            body["buffer_before_minutes"] = buffer_before_minutes
            body["buffer_after_minutes"] = buffer_after_minutes
            if slot_interval_minutes:
                body["slot_interval_minutes"] = slot_interval_minutes
        else:
            body["capacity"] = capacity
        if kind == "event":
            assert starts_at is not None
            body["starts_at"] = starts_at.isoformat()
        if kind == "class" and "recurrence" not in fields:  # meets daily at 18:00 UTC
            body["recurrence"] = {
                "rrule": "FREQ=DAILY",
                "start_time": "18:00",
                "starts_on": datetime.now(UTC).date().isoformat(),
            }
        r = await self.client.post(
            f"/api/v1/providers/{provider_id}/services", json=body, headers=self.admin
        )
        assert r.status_code == 201, r.text
        service_id = r.json()["id"]
        r = await self.client.get(
            f"/internal/v1/providers/services/{service_id}/schedule", headers=self.admin
        )
        assert r.status_code == 200, r.text
        return ScheduleConfig.model_validate(r.json())


class FixedSchedule:
    """The providers service as a booking sees it, without the in-process client (for
    writers on their own connections, as other replicas would be)."""

    def __init__(self, config: ScheduleConfig):
        self.config = config

    async def schedule_config(self, service_id: uuid.UUID) -> ScheduleConfig:
        return self.config

    async def provider_of(self, service_id: uuid.UUID) -> uuid.UUID:
        return self.config.provider_id

    async def get_provider(self, provider_id: uuid.UUID) -> dict[str, Any]:
        return {}


@pytest.fixture
def schedules(client: Any, admin_headers: dict[str, str]) -> Providers:
    return Providers(client, admin_headers)


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
