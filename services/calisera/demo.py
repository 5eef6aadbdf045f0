"""``calisera demo``: a realistic provider built through the public API of a running platform.

Everything goes through HTTP as any client would (admin token for the provider, then
anonymous customers for bookings), so the demo doubles as a smoke test of the contract.
Running it twice reuses the provider instead of failing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from calisera.core.settings import Settings

SLUG = "studio-aurora"
ZONE = "Europe/Berlin"

WEEKLY = [
    *({"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)),
    *({"weekday": d, "start": "13:00", "end": "18:00"} for d in range(5)),
    {"weekday": 5, "start": "10:00", "end": "14:00"},
]

CUSTOMERS = [
    {"name": "Lena Hoffmann", "email": "lena@example.com", "timezone": "Europe/Berlin"},
    {"name": "Marco Rossi", "email": "marco@example.com", "phone": "+393471234567"},
    {"name": "Aiko Tanaka", "email": "aiko@example.com", "timezone": "Asia/Tokyo"},
    {"name": "Sam Carter", "email": "sam@example.com", "timezone": "America/New_York"},
]


def _next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def _services(today: date) -> list[dict[str, Any]]:
    sunday = _next_weekday(today, 6)
    return [
        {
            "name": "Haircut & styling",
            "kind": "simple",
            "duration_minutes": 45,
            "slot_interval_minutes": 15,
            "buffer_after_minutes": 10,
            "description": "Wash, cut and style.",
            "price_text": "45 EUR",
            "location": {"type": "in_person", "address": "Torstraße 12, 10119 Berlin"},
        },
        {
            "name": "Colour workshop",
            "kind": "event",
            "duration_minutes": 120,
            "capacity": 12,
            "starts_at": f"{sunday.isoformat()}T11:00:00+01:00",
            "description": "Hands-on colour theory for beginners.",
        },
        {
            "name": "Evening yoga",
            "kind": "class",
            "duration_minutes": 60,
            "capacity": 8,
            "recurrence": {
                "rrule": "FREQ=WEEKLY;BYDAY=TU,TH",
                "start_time": "18:30",
                "starts_on": today.isoformat(),
            },
            "description": "Gentle flow after work.",
        },
    ]


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.is_error:
        raise SystemExit(f"demo: {what} failed ({response.status_code}): {response.text}")
    body: dict[str, Any] = response.json()
    return body


def run_demo(url: str, settings: Settings) -> str:
    token = settings.admin_token_value
    if not token:
        raise SystemExit("demo: no admin token (set CALISERA_ADMIN_TOKEN or run `calisera up`)")
    admin = {"Authorization": f"Bearer {token}"}
    today = datetime.now(UTC).date()
    with httpx.Client(base_url=url, timeout=15) as http:
        created = http.post(
            "/api/v1/providers",
            headers=admin,
            json={
                "slug": SLUG,
                "name": "Studio Aurora",
                "timezone": ZONE,
                "owner_email": "owner@studio-aurora.example",
                "bio": "Hair, colour and yoga in Berlin Mitte.",
                "locale": "de-DE",
            },
        )
        if created.status_code == 409:
            provider = _check(http.get(f"/api/v1/providers/by-slug/{SLUG}", headers=admin), "load")
        else:
            provider = _check(created, "create provider")
        pid = provider["id"]
        _check(
            http.put(
                f"/api/v1/providers/{pid}/availability",
                headers=admin,
                json={"weekly": WEEKLY, "overrides": [], "time_off": []},
            ),
            "set availability",
        )
        existing = _check(http.get(f"/api/v1/providers/{pid}/services", headers=admin), "list")
        by_name = {s["name"]: s for s in existing["items"]}
        services = []
        for body in _services(today):
            service = by_name.get(body["name"]) or _check(
                http.post(f"/api/v1/providers/{pid}/services", headers=admin, json=body),
                f"create service {body['name']}",
            )
            services.append(service)

        booked = 0
        for i, service in enumerate(services):
            slots = _check(
                http.get(
                    "/api/v1/availability",
                    params={
                        "service_id": service["id"],
                        "start": today.isoformat(),
                        "end": (today + timedelta(days=13)).isoformat(),
                    },
                ),
                f"availability of {service['name']}",
            )["slots"]
            for j, slot in enumerate(slots[: 3 if service["kind"] == "simple" else 2]):
                customer = CUSTOMERS[(i + j) % len(CUSTOMERS)]
                r = http.post(
                    "/api/v1/bookings",
                    headers={"Idempotency-Key": f"demo-{service['id']}-{slot['start']}"},
                    json={
                        "service_id": service["id"],
                        "start": slot["start"],
                        "customer": customer,
                    },
                )
                if r.status_code in (200, 201):
                    booked += 1
    return (
        f"Demo provider ready: {provider['name']}\n"
        f"  booking page  {provider.get('booking_url')}\n"
        f"  QR code       {provider.get('qr_code_url')}\n"
        f"  services      {', '.join(s['name'] for s in services)}\n"
        f"  bookings made {booked}\n"
        f"  owner token   calisera token --email owner@studio-aurora.example"
    )
