"""Request and response models of the bookings service (the contract's types).

``BusyTime`` is the internal read model the listing service fetches through
:mod:`calisera.bookings.client`: a provider's confirmed time and occurrence seat
counts over a range, convertible into :mod:`calisera.scheduling` values.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from calisera.core.text import MultiLine, SingleLine
from calisera.scheduling.model import BusyInterval, OccurrenceSeats

# --- internal read model: GET /internal/v1/bookings/busy?provider_id=&start=&end= ---


class BusyIntervalOut(BaseModel):
    service_id: uuid.UUID
    start: datetime
    end: datetime
    buffer_before_minutes: int
    buffer_after_minutes: int
    seats: int


class OccurrenceSeatsOut(BaseModel):
    service_id: uuid.UUID
    start: datetime
    seats_taken: int


class BusyTime(BaseModel):
    """Confirmed bookings overlapping ``[start, end)`` of one provider (one interval per
    simple booking and one per booked occurrence), and seats taken per occurrence."""

    provider_id: uuid.UUID
    start: datetime
    end: datetime
    intervals: list[BusyIntervalOut]
    occurrences: list[OccurrenceSeatsOut]

    def busy_intervals(self) -> tuple[BusyInterval, ...]:
        return tuple(
            BusyInterval(
                start=i.start,
                end=i.end,
                buffer_before_minutes=i.buffer_before_minutes,
                buffer_after_minutes=i.buffer_after_minutes,
                service_id=i.service_id,
                seats=i.seats,
            )
            for i in self.intervals
        )

    def occurrence_seats(self) -> tuple[OccurrenceSeats, ...]:
        return tuple(
            OccurrenceSeats(o.service_id, o.start, o.seats_taken) for o in self.occurrences
        )


# --- public API: /api/v1/bookings ---


def _valid_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


def _e164(value: str | None) -> str | None:
    """International numbers only (``+`` and country code), normalised to E.164."""
    if value is None or not value.strip():
        return None
    raw = value.strip()
    if not raw.startswith("+"):
        raise ValueError("use the international format with country code, e.g. +41 44 668 18 00")
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, SingleLine(200, min_length=1)]
    email: Annotated[EmailStr, SingleLine(254, min_length=3)]
    phone: Annotated[Annotated[str, SingleLine(40)] | None, AfterValidator(_e164)] = None
    timezone: Annotated[Annotated[str, SingleLine(64)] | None, AfterValidator(_valid_zone)] = None


class BookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: uuid.UUID
    start: AwareDatetime
    seats: int = Field(default=1, ge=1, le=1000)
    customer: Customer
    notes: Annotated[str, MultiLine(2000)] | None = None


class BookingReschedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime


class BookingAction(BaseModel):
    """Body of cancel, complete and no-show: why (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, MultiLine(2000)] | None = None


class CustomerOut(BaseModel):
    name: str
    email: str
    phone: str | None = None
    timezone: str | None = None


BookingStatus = Literal["confirmed", "cancelled", "completed", "no_show"]


class BookingOut(BaseModel):
    id: uuid.UUID
    status: BookingStatus
    service_id: uuid.UUID
    service_kind: Literal["simple", "event", "class"]
    service_name: str
    provider_id: uuid.UUID
    start: datetime
    end: datetime
    seats: int
    customer: CustomerOut
    notes: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime
    manage_token: str | None = None
    """Only in the answer to the create call (and its idempotent replays)."""


class BookingPage(BaseModel):
    items: list[BookingOut]
    next_cursor: str | None = None


class HistoryEntryOut(BaseModel):
    version: int
    action: str
    actor: Literal["customer", "owner", "admin"]
    actor_id: str | None = None
    reason: str | None = None
    status: BookingStatus
    start: datetime
    end: datetime
    previous_start: datetime | None = None
    previous_end: datetime | None = None
    occurred_at: datetime


class BookingHistoryOut(BaseModel):
    booking_id: uuid.UUID
    items: list[HistoryEntryOut]
