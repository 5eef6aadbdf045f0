"""A small provider with one service of each kind, built through the public API.

Shared by the web integration tests (in-process ``client``) and the browser test (a
real server): it only speaks HTTP, as the provider's phone would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

ZONE = "Europe/Berlin"


@dataclass
class Studio:
    provider: dict[str, Any]
    simple: dict[str, Any]
    event: dict[str, Any]
    klass: dict[str, Any]

    @property
    def slug(self) -> str:
        return str(self.provider["slug"])


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    return body


async def open_studio(
    http: httpx.AsyncClient, admin: dict[str, str], *, slug: str = "studio-lumen"
) -> Studio:
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    provider = _ok(
        await http.post(
            "/api/v1/providers",
            headers=admin,
            json={
                "slug": slug,
                "name": "Studio Lumen",
                "timezone": ZONE,
                "owner_email": "owner@lumen.example",
                "bio": "Portraits & <b>light</b> in Kreuzberg.",
                "booking_page": {"accent_color": "#7c3aed", "welcome_text": "Willkommen!"},
            },
        )
    )
    pid = provider["id"]
    _ok(
        await http.put(
            f"/api/v1/providers/{pid}/availability",
            headers=admin,
            json={
                "weekly": [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)],
                "overrides": [],
            },
        )
    )
    simple = _ok(
        await http.post(
            f"/api/v1/providers/{pid}/services",
            headers=admin,
            json={
                "name": "Portrait session",
                "kind": "simple",
                "duration_minutes": 60,
                "price_text": "90 EUR",
                "description": "One hour in the studio.",
                "location": {"type": "in_person", "address": "Oranienstraße 1, Berlin"},
            },
        )
    )
    event_day = today + timedelta(days=3)
    event = _ok(
        await http.post(
            f"/api/v1/providers/{pid}/services",
            headers=admin,
            json={
                "name": "Darkroom open day",
                "kind": "event",
                "duration_minutes": 120,
                "capacity": 12,
                "starts_at": datetime.combine(event_day, time(10), ZoneInfo(ZONE)).isoformat(),
            },
        )
    )
    klass = _ok(
        await http.post(
            f"/api/v1/providers/{pid}/services",
            headers=admin,
            json={
                "name": "Evening photo walk",
                "kind": "class",
                "duration_minutes": 90,
                "capacity": 6,
                "recurrence": {
                    "rrule": "FREQ=DAILY",
                    "start_time": "18:30",
                    "starts_on": today.isoformat(),
                },
            },
        )
    )
    return Studio(provider=provider, simple=simple, event=event, klass=klass)


async def free_slots(
    http: httpx.AsyncClient, service_id: str, zone: str, first: date, days: int = 7
) -> list[dict[str, Any]]:
    body = _ok(
        await http.get(
            "/api/v1/availability",
            params={
                "service_id": service_id,
                "start": first.isoformat(),
                "end": (first + timedelta(days=days - 1)).isoformat(),
                "timezone": zone,
            },
        )
    )
    slots: list[dict[str, Any]] = body["slots"]
    return slots
