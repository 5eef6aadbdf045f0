"""Listing never depends on the integrations service: with it unreachable (its URL a
closed loopback port) availability is still answered, from bookings alone."""

from __future__ import annotations

import socket
from datetime import date, timedelta

import httpx

from calisera.assembly import build_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_availability_is_served_when_integrations_is_down(settings, admin_headers):
    down = settings.with_changes(integrations_url=f"http://127.0.0.1:{_closed_port()}")
    app = build_app(down, ["providers", "bookings", "listing"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            provider = await client.post(
                "/api/v1/providers",
                json={
                    "slug": "no-calendars",
                    "name": "No Calendars",
                    "timezone": "UTC",
                    "owner_email": "o@example.com",
                },
                headers=admin_headers,
            )
            pid = provider.json()["id"]
            service = await client.post(
                f"/api/v1/providers/{pid}/services",
                json={"name": "Talk", "kind": "simple", "duration_minutes": 60},
                headers=admin_headers,
            )
            await client.put(
                f"/api/v1/providers/{pid}/availability",
                json={
                    "weekly": [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(7)]
                },
                headers=admin_headers,
            )
            day = (date.today() + timedelta(days=3)).isoformat()
            answer = await client.get(
                "/api/v1/availability",
                params={"service_id": service.json()["id"], "start": day, "end": day},
            )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["slots"]) == 3
