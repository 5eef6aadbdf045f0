"""Factories for providers tests: bodies built per call, nothing shared between tests."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest

_seq = itertools.count()
EVENT_DAY = date.today() + timedelta(days=400)
EVENT_START = f"{EVENT_DAY.isoformat()}T09:00:00+02:00"
"""An event start safely in the future and within the ten-year horizon."""


def provider_body(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body: dict[str, Any] = {
        "slug": f"studio-{n}",
        "name": f"Studio {n}",
        "timezone": "Europe/Berlin",
        "owner_email": "owner@example.com",
    }
    body.update(overrides)
    return body


def simple_service_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Haircut", "kind": "simple", "duration_minutes": 30}
    body.update(overrides)
    return body


def class_service_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Yoga",
        "kind": "class",
        "duration_minutes": 60,
        "capacity": 12,
        "recurrence": {
            "rrule": "FREQ=WEEKLY;BYDAY=TU,TH",
            "start_time": "18:00",
            "starts_on": "2026-12-01",
        },
    }
    body.update(overrides)
    return body


def event_service_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Workshop",
        "kind": "event",
        "duration_minutes": 120,
        "capacity": 20,
        "starts_at": EVENT_START,
    }
    body.update(overrides)
    return body


@pytest.fixture
def create_provider(client, admin_headers):
    async def create(headers: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
        r = await client.post(
            "/api/v1/providers", json=provider_body(**overrides), headers=headers or admin_headers
        )
        assert r.status_code == 201, r.text
        return r.json()

    return create


@pytest.fixture
def owner_headers(auth_headers):
    return auth_headers("owner@example.com")
