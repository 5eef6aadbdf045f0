"""Request and response models of the bookings service (the contract's types).

``BusyTime`` is the internal read model the listing service fetches through
:mod:`calisera.bookings.client`: a provider's confirmed time and occurrence seat
counts over a range, convertible into :mod:`calisera.scheduling` values.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from calisera.core.text import MultiLine, SingleLine
from calisera.core.values import Flag, Instant, IsoDate, Whole, ZoneName
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


QuestionKey = str
"""Any text: a key that is no question of the service is refused by name
(``answers.<key>: not a question of this service``), whatever it holds."""
AnswerOption = Annotated[str, SingleLine(100, min_length=1)]


def e164(value: str | None) -> str | None:
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
    phone: Annotated[Annotated[str, SingleLine(40)] | None, AfterValidator(e164)] = None
    timezone: ZoneName | None = None


AnswerValue = (
    Annotated[str, MultiLine(2000)] | Flag | Annotated[list[AnswerOption], Field(max_length=20)]
)
"""Text (text, long text, single choice, phone), ``true``/``false`` (checkbox) or the
chosen options (multiple choice)."""


class BookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: uuid.UUID
    start: Instant
    seats: Annotated[int, Whole(ge=1, le=1000)] = 1
    customer: Customer
    notes: Annotated[str, MultiLine(2000)] | None = None
    hold_id: uuid.UUID | None = Field(
        default=None,
        description="A hold of this service, start and at least these seats "
        "(``POST /api/v1/holds``): the booking takes its place; 409 ``hold-expired`` once "
        "it has expired or been used.",
    )

    answers: dict[QuestionKey, AnswerValue] = Field(
        default_factory=dict,
        max_length=20,
        description="Answers to the service's booking questions by question id; checked "
        "against the questions as they are when booking (422 naming ``answers.<id>``).",
    )


MAX_SERIES_OCCURRENCES = 52
"""A series books at most a year of a weekly class in one request."""


class SeriesCreate(BaseModel):
    """Every occurrence of a class from ``start`` for ``weeks`` weeks or ``until`` a date,
    in one request (``POST /api/v1/bookings/series``)."""

    model_config = ConfigDict(extra="forbid")

    service_id: uuid.UUID
    start: Instant = Field(description="The first occurrence of the series.")
    weeks: Annotated[int, Whole(ge=1, le=MAX_SERIES_OCCURRENCES)] | None = Field(
        default=None,
        description="Book the occurrences that start in this many weeks from ``start`` "
        "(one of ``weeks`` and ``until``).",
    )
    until: IsoDate | None = Field(
        default=None,
        description="Book the occurrences up to this date (inclusive, the provider's "
        "calendar; one of ``weeks`` and ``until``).",
    )
    mode: Literal["all_or_nothing", "skip_unavailable"] = Field(
        default="all_or_nothing",
        description="``all_or_nothing``: if any occurrence cannot be booked nothing is, and "
        "the problem names its start; ``skip_unavailable``: book the ones that can be and "
        "list the others in ``skipped``.",
    )
    seats: Annotated[int, Whole(ge=1, le=1000)] = 1
    customer: Customer
    notes: Annotated[str, MultiLine(2000)] | None = None
    answers: dict[QuestionKey, AnswerValue] = Field(default_factory=dict, max_length=20)


class HoldCreate(BaseModel):
    """Keep a slot (or seats) for a few minutes while the customer fills in the form."""

    model_config = ConfigDict(extra="forbid")

    service_id: uuid.UUID
    start: Instant
    seats: Annotated[int, Whole(ge=1, le=1000)] = 1


class HoldOut(BaseModel):
    id: uuid.UUID
    service_id: uuid.UUID
    start: datetime
    end: datetime
    seats: int
    expires_at: datetime
    """After this instant the hold is gone by itself; nothing needs to release it."""


class BookingReschedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Instant


class BookingAction(BaseModel):
    """Body of cancel, complete and no-show: why (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, MultiLine(2000)] | None = None


class BookingCancel(BookingAction):
    """Body of cancel: why (optional), and for a booking of a series how much of it."""

    scope: Literal["this", "rest"] = Field(
        default="this",
        description="``rest``: this booking and every later one of its series that is "
        "still confirmed or pending (422 naming ``scope`` for a booking of no series).",
    )


class CustomerOut(BaseModel):
    name: str
    email: str
    phone: str | None = None
    timezone: str | None = None


BookingStatus = Literal[
    "pending", "confirmed", "declined", "expired", "cancelled", "completed", "no_show"
]
"""``pending``: a request awaiting the provider (services that require confirmation);
it ends ``confirmed``, ``declined``, ``expired`` (unanswered by ``expires_at``) or
``cancelled``."""


class AnswerOut(BaseModel):
    """An answer as it was given, with the question's label and kind at booking time (a
    later edit or removal of the question does not change what the customer answered)."""

    question_id: uuid.UUID
    label: str
    kind: str
    value: str | bool | list[str]


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
    answers: list[AnswerOut] = []
    version: int
    created_at: datetime
    updated_at: datetime
    manage_token: str | None = None
    """Only in the answer to the create call (and its idempotent replays)."""
    expires_at: datetime | None = None
    """For a ``pending`` request: when it expires unanswered and frees its time."""
    series_id: uuid.UUID | None = None
    """The class series the booking belongs to (``POST /api/v1/bookings/series``)."""


class SkippedOccurrence(BaseModel):
    """An occurrence a ``skip_unavailable`` series did not book, and why."""

    start: datetime
    reason: str
    """``full``, ``taken``, ``notice``, ``window``, ``limit-reached`` and the other reasons
    of ``not-bookable``."""
    detail: str


class SeriesOut(BaseModel):
    id: uuid.UUID
    service_id: uuid.UUID
    bookings: list[BookingOut]
    """The series' bookings by start (each its own booking, sharing ``series_id``)."""
    skipped: list[SkippedOccurrence] = []
    manage_token: str | None = None
    """Only in the answer to the create call: one token manages every booking of the
    series."""


class BookingPage(BaseModel):
    items: list[BookingOut]
    next_cursor: str | None = None


class HistoryEntryOut(BaseModel):
    version: int
    action: str
    actor: Literal["customer", "owner", "admin", "system"]
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


# --- public API: /api/v1/waitlist ---


WaitlistStatus = Literal["waiting", "offered", "claimed", "expired", "left"]
"""``waiting`` in line; ``offered``: seats are held for the entry until
``offer_expires_at``; then ``claimed`` (a booking), ``expired`` (the offer ran out) or
``left``."""


class WaitlistJoin(BaseModel):
    """Wait for seats of a full event or class occurrence."""

    model_config = ConfigDict(extra="forbid")

    service_id: uuid.UUID
    start: Instant
    seats: Annotated[int, Whole(ge=1, le=1000)] = 1
    customer: Customer


class WaitlistClaim(BaseModel):
    """Claim an open offer: book the held seats."""

    model_config = ConfigDict(extra="forbid")

    notes: Annotated[str, MultiLine(2000)] | None = None
    answers: dict[QuestionKey, AnswerValue] = Field(
        default_factory=dict,
        max_length=20,
        description="Answers to the service's booking questions by question id, checked "
        "as a booking's are (422 naming ``answers.<id>``).",
    )


class WaitlistEntryOut(BaseModel):
    id: uuid.UUID
    status: WaitlistStatus
    service_id: uuid.UUID
    service_name: str
    provider_id: uuid.UUID
    start: datetime
    end: datetime
    seats: int
    customer: CustomerOut
    position: int | None = None
    """While ``waiting``: 1 for the first in line of the occurrence."""
    offer_expires_at: datetime | None = None
    """While ``offered``: the claim must come before this instant."""
    booking_id: uuid.UUID | None = None
    """Once ``claimed``: the booking it made."""
    created_at: datetime
    updated_at: datetime
    token: str | None = None
    """Only in the answer to the join call: shown once, kept only as a hash; it reads,
    leaves and claims the entry (``X-Waitlist-Token``)."""


class WaitlistPage(BaseModel):
    items: list[WaitlistEntryOut]
    next_cursor: str | None = None


class WaitlistClaimed(BaseModel):
    """The answer to a claim: the entry, now ``claimed``, and the booking it made (with
    its ``manage_token``, shown once)."""

    entry: WaitlistEntryOut
    booking: BookingOut
