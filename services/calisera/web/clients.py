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
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from calisera.bookings.client import IdempotencyInFlight
from calisera.core.clients import ServiceClient, raise_for_problem
from calisera.core.errors import NotFound
from calisera.core.platform import Platform

M = TypeVar("M", bound=BaseModel)


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- providers ---------------------------------------------------------------------


class Question(Lenient):
    """A booking question of a service (``questions`` of the public profile)."""

    id: uuid.UUID
    kind: str
    label: str
    required: bool = False
    options: list[str] = Field(default_factory=list)


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
    booking_window_days: int = 60
    cancellation_notice_minutes: int = 0
    reschedule_notice_minutes: int | None = None
    """None: the cancellation notice applies to moves too."""
    active: bool = True
    questions: list[Question] = Field(default_factory=list)

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
    address: str | None = None
    policy_text: str | None = None
    booking_url: str | None = None
    contact: dict[str, Any] | None = None
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


class ListedProvider(Lenient):
    """One entry of the public directory (``GET /api/v1/providers/search``)."""

    slug: str
    name: str
    bio: str | None = None
    photo_url: str | None = None
    logo_url: str | None = None
    accent_color: str | None = None
    categories: list[str] = Field(default_factory=list)
    city: str | None = None
    area: str | None = None
    languages: list[str] = Field(default_factory=list)


class DirectoryPage(Lenient):
    items: list[ListedProvider]
    next_cursor: str | None = None


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

    async def search_directory(self, **params: str | int | None) -> DirectoryPage:
        """One page of listed providers; ``InvalidInput`` names a parameter it refused."""
        kept = {k: v for k, v in params.items() if v not in (None, "")}
        response = await self.request("GET", "/api/v1/providers/search", params=kept)
        raise_for_problem(response, service=self.service)
        return DirectoryPage.model_validate(response.json())


# --- listing -----------------------------------------------------------------------


class FreeSlot(Lenient):
    start: datetime
    end: datetime
    seats_left: int = 1


class Availability(Lenient):
    service_id: uuid.UUID
    timezone: str
    slots: list[FreeSlot]


class Explanation(Lenient):
    """Why a time is (not) offered (``GET /api/v1/availability/explain``)."""

    offered: bool
    reason: str | None = None


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

    async def explain(self, service_id: uuid.UUID, start: datetime) -> Explanation:
        response = await self.request(
            "GET",
            "/api/v1/availability/explain",
            params={"service_id": str(service_id), "start": start.isoformat()},
        )
        raise_for_problem(response, service=self.service)
        return Explanation.model_validate(response.json())


# --- bookings ----------------------------------------------------------------------


class BookingCustomer(Lenient):
    name: str
    email: str
    phone: str | None = None
    timezone: str | None = None


class Answer(Lenient):
    question_id: uuid.UUID
    label: str
    kind: str = "text"
    value: str | bool | list[str] = ""

    @property
    def text(self) -> str:
        """The answer as a person reads it."""
        if isinstance(self.value, bool):
            return "Yes" if self.value else "No"
        if isinstance(self.value, list):
            return ", ".join(self.value)
        return self.value


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
    answers: list[Answer] = Field(default_factory=list)
    manage_token: str | None = None
    series_id: uuid.UUID | None = None


class SkippedOccurrence(Lenient):
    start: datetime
    reason: str
    detail: str = ""


class Series(Lenient):
    """A class series: its bookings by start (one manage token for them all)."""

    id: uuid.UUID
    bookings: list[Booking]
    skipped: list[SkippedOccurrence] = Field(default_factory=list)
    manage_token: str | None = None


class WaitlistEntry(Lenient):
    id: uuid.UUID
    status: str
    service_id: uuid.UUID
    service_name: str | None = None
    provider_id: uuid.UUID
    start: datetime
    end: datetime
    seats: int = 1
    customer: BookingCustomer
    position: int | None = None
    offer_expires_at: datetime | None = None
    booking_id: uuid.UUID | None = None
    token: str | None = None


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
        path = "/api/v1/bookings"
        return Booking.model_validate(
            await self._once(path, body, {}, idempotency_key, in_flight_retries)
        )

    async def create_series(
        self, body: dict[str, Any], *, idempotency_key: str, in_flight_retries: int = 20
    ) -> Series:
        """Book a class series (``POST /api/v1/bookings/series``), as :meth:`create_booking`."""
        path = "/api/v1/bookings/series"
        return Series.model_validate(
            await self._once(path, body, {}, idempotency_key, in_flight_retries)
        )

    async def claim_offer(
        self,
        entry_id: uuid.UUID,
        token: str,
        body: dict[str, Any],
        *,
        idempotency_key: str,
        in_flight_retries: int = 20,
    ) -> Booking:
        """Book the held seats; the same key and body always give the same booking (a
        double submit waits for the first, as :meth:`create_booking` does)."""
        path = f"/api/v1/waitlist/{entry_id}/claim"
        answer = await self._once(path, body, _waitlist(token), idempotency_key, in_flight_retries)
        return Booking.model_validate(answer["booking"])

    async def _once(
        self,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
        idempotency_key: str,
        in_flight_retries: int,
    ) -> Any:
        """POST with an Idempotency-Key, waiting out a first submit still in flight."""
        for attempt in range(in_flight_retries + 1):
            response = await self.request(
                "POST", path, json=body, headers={**headers, "Idempotency-Key": idempotency_key}
            )
            try:
                raise_for_problem(response, service=self.service)
            except IdempotencyInFlight:
                if attempt == in_flight_retries:
                    raise
                await asyncio.sleep(0.1)
                continue
            return response.json()
        raise AssertionError("unreachable")

    async def _call(self, model: type[M], method: str, path: str, **kw: Any) -> M:
        response = await self.request(method, path, **kw)
        raise_for_problem(response, service=self.service)
        return model.model_validate(response.json())

    async def booking_series(self, booking_id: uuid.UUID, manage_token: str) -> Series:
        path = f"/api/v1/bookings/{booking_id}/series"
        return await self._call(Series, "GET", path, headers=_manage(manage_token))

    async def get_booking(self, booking_id: uuid.UUID, manage_token: str) -> Booking:
        path = f"/api/v1/bookings/{booking_id}"
        return await self._call(Booking, "GET", path, headers=_manage(manage_token))

    async def cancel_booking(
        self,
        booking_id: uuid.UUID,
        manage_token: str,
        reason: str | None,
        *,
        rest_of_series: bool = False,
    ) -> Booking:
        body: dict[str, Any] = {"reason": reason} if reason else {}
        if rest_of_series:
            body["scope"] = "rest"
        path = f"/api/v1/bookings/{booking_id}/cancel"
        return await self._call(Booking, "POST", path, headers=_manage(manage_token), json=body)

    async def reschedule_booking(
        self, booking_id: uuid.UUID, manage_token: str, start: datetime
    ) -> Booking:
        path = f"/api/v1/bookings/{booking_id}/reschedule"
        body = {"start": start.isoformat()}
        return await self._call(Booking, "POST", path, headers=_manage(manage_token), json=body)

    async def booking_ics(self, booking_id: uuid.UUID, manage_token: str) -> bytes:
        response = await self.request(
            "GET", f"/api/v1/bookings/{booking_id}/ics", headers=_manage(manage_token)
        )
        raise_for_problem(response, service=self.service)
        return response.content

    async def join_waitlist(self, body: dict[str, Any]) -> WaitlistEntry:
        return await self._call(WaitlistEntry, "POST", "/api/v1/waitlist", json=body)

    async def get_waitlist_entry(self, entry_id: uuid.UUID, token: str) -> WaitlistEntry:
        path = f"/api/v1/waitlist/{entry_id}"
        return await self._call(WaitlistEntry, "GET", path, headers=_waitlist(token))

    async def leave_waitlist(self, entry_id: uuid.UUID, token: str) -> WaitlistEntry:
        path = f"/api/v1/waitlist/{entry_id}/leave"
        return await self._call(WaitlistEntry, "POST", path, headers=_waitlist(token))


def _waitlist(token: str) -> dict[str, str]:
    return {"X-Waitlist-Token": token}


def _manage(token: str) -> dict[str, str]:
    return {"X-Manage-Token": token}
