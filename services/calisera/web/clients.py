"""Typed clients the web pages use: the public HTTP contract of providers, listing and
bookings (``shared/API.md``), nothing internal.

The web service is a public client like a phone app: its calls carry **no** admin
token (the base :class:`ServiceClient` adds it for service-to-service calls, we drop it),
so the manage page can only show a booking when the customer's ``X-Manage-Token`` says
so, and a suspended provider is hidden from web exactly as from anyone else.

Problem answers become the very exception classes the other service raised
(:func:`calisera.core.clients.raise_for_problem`; the bookings ones are exported by
:mod:`calisera.bookings.client`, e.g. ``SlotUnavailable``); a 401/403 (a wrong manage token) is a
404 page for the customer (:class:`calisera.web.pages.PageRoute`).

Answers are parsed leniently (unknown fields ignored, optional fields defaulted): the
pages need a handful of fields and must not break when another service adds one.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from calisera.bookings.client import IdempotencyInFlight
from calisera.core.clients import ServiceClient, raise_for_problem
from calisera.core.errors import NotFound
from calisera.core.platform import Platform


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- providers ---------------------------------------------------------------------


class PublicService(Lenient):
    id: uuid.UUID
    name: str
    kind: str = "simple"
    description: str | None = None
    duration_minutes: int = 0
    capacity: int = 1
    location: dict[str, Any] | str | None = None
    price_text: str | None = None
    starts_at: datetime | None = None
    recurrence: dict[str, Any] | None = None
    active: bool = True

    @property
    def location_text(self) -> str | None:
        """One line for people: the address, the meeting link's host, or "By phone"."""
        loc = self.location
        if loc is None or isinstance(loc, str):
            return loc or None
        kind = loc.get("kind") or loc.get("type")
        if kind == "online":
            return "Online"
        if kind == "phone":
            return f"By phone ({loc['phone']})" if loc.get("phone") else "By phone"
        address = loc.get("address")
        return str(address) if address else None


class PublicProvider(Lenient):
    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    bio: str | None = None
    logo_url: str | None = None
    photo_url: str | None = None
    locale: str | None = None
    suspended: bool = False
    accent_color: str | None = None
    welcome_text: str | None = None
    services: list[PublicService] = Field(default_factory=list)
    """Active services shown on the booking page (the providers service filters them)."""

    @property
    def bookable_services(self) -> list[PublicService]:
        return [s for s in self.services if s.active]

    def service(self, service_id: uuid.UUID) -> PublicService:
        for s in self.bookable_services:
            if s.id == service_id:
                return s
        raise NotFound(f"{self.name} offers no such service")


class ProvidersClient(ServiceClient):
    service = "providers"

    def __init__(self, platform: Platform, **kw: Any):
        super().__init__(platform, **kw)
        self._http.headers.pop("Authorization", None)

    async def provider_by_slug(self, slug: str) -> PublicProvider:
        """The public profile; ``NotFound`` for unknown and for suspended providers."""
        response = await self.request("GET", f"/api/v1/providers/by-slug/{slug}")
        raise_for_problem(response, service=self.service)
        provider = PublicProvider.model_validate(response.json())
        if provider.suspended:
            raise NotFound("This booking page is not available")
        return provider


# --- listing -----------------------------------------------------------------------


class FreeSlot(Lenient):
    start: datetime
    end: datetime
    seats_left: int = 1


class Availability(Lenient):
    service_id: uuid.UUID
    timezone: str
    slots: list[FreeSlot]


class ListingClient(ServiceClient):
    service = "listing"

    def __init__(self, platform: Platform, **kw: Any):
        super().__init__(platform, **kw)
        self._http.headers.pop("Authorization", None)

    async def availability(
        self, service_id: uuid.UUID, start: date, end: date, timezone: str
    ) -> Availability:
        response = await self.request(
            "GET",
            "/api/v1/availability",
            params={
                "service_id": str(service_id),
                "start": start.isoformat(),
                "end": end.isoformat(),
                "timezone": timezone,
            },
        )
        raise_for_problem(response, service=self.service)
        return Availability.model_validate(response.json())


# --- bookings ----------------------------------------------------------------------


class BookingCustomer(Lenient):
    name: str
    email: str
    phone: str | None = None
    timezone: str | None = None


class Booking(Lenient):
    id: uuid.UUID
    status: str
    service_id: uuid.UUID
    service_name: str | None = None
    service_kind: str | None = None
    provider_id: uuid.UUID
    start: datetime
    end: datetime
    seats: int = 1
    customer: BookingCustomer
    notes: str | None = None
    manage_token: str | None = None


class BookingsClient(ServiceClient):
    service = "bookings"

    def __init__(self, platform: Platform, **kw: Any):
        super().__init__(platform, **kw)
        self._http.headers.pop("Authorization", None)

    async def create_booking(
        self, body: dict[str, Any], *, idempotency_key: str, in_flight_retries: int = 20
    ) -> Booking:
        """Book; the same ``idempotency_key`` and body always yield the same booking.

        A second submit arriving while the first is still in flight gets
        :class:`IdempotencyInFlight` from the bookings service; it waits for the first to
        finish and then gets its answer (or, after ``in_flight_retries``, that problem).
        """
        for attempt in range(in_flight_retries + 1):
            response = await self.request(
                "POST",
                "/api/v1/bookings",
                json=body,
                headers={"Idempotency-Key": idempotency_key},
            )
            try:
                raise_for_problem(response, service=self.service)
            except IdempotencyInFlight:
                if attempt == in_flight_retries:
                    raise
                await asyncio.sleep(0.1)
                continue
            return Booking.model_validate(response.json())
        raise AssertionError("unreachable")

    async def get_booking(self, booking_id: uuid.UUID, manage_token: str) -> Booking:
        response = await self.request(
            "GET", f"/api/v1/bookings/{booking_id}", headers=_manage(manage_token)
        )
        raise_for_problem(response, service=self.service)
        return Booking.model_validate(response.json())

    async def cancel_booking(
        self, booking_id: uuid.UUID, manage_token: str, reason: str | None
    ) -> Booking:
        response = await self.request(
            "POST",
            f"/api/v1/bookings/{booking_id}/cancel",
            headers=_manage(manage_token),
            json={"reason": reason} if reason else {},
        )
        raise_for_problem(response, service=self.service)
        return Booking.model_validate(response.json())

    async def reschedule_booking(
        self, booking_id: uuid.UUID, manage_token: str, start: datetime
    ) -> Booking:
        response = await self.request(
            "POST",
            f"/api/v1/bookings/{booking_id}/reschedule",
            headers=_manage(manage_token),
            json={"start": start.isoformat()},
        )
        raise_for_problem(response, service=self.service)
        return Booking.model_validate(response.json())

    async def booking_ics(self, booking_id: uuid.UUID, manage_token: str) -> bytes:
        response = await self.request(
            "GET", f"/api/v1/bookings/{booking_id}/ics", headers=_manage(manage_token)
        )
        raise_for_problem(response, service=self.service)
        return response.content


def _manage(token: str) -> dict[str, str]:
    return {"X-Manage-Token": token}
