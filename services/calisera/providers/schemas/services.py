"""Services: what a provider creates and edits, what the API answers, what customers see."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from calisera.core.pagination import Page
from calisera.core.text import MultiLine, SingleLine
from calisera.core.values import Flag, IsoDate, Whole
from calisera.providers.fields import (
    AwareDateTime,
    GridTime,
    Name,
    Phone,
    Text,
    Url,
)
from calisera.providers.schemas.inputs import Input, not_nullable
from calisera.providers.schemas.schedule import (
    CHOICE_KINDS,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    QuestionKind,
    QuestionOption,
    QuestionOut,
    RecurrenceOut,
)

SERVICE_FIELDS_NOT_NULL = (
    "name",
    "kind",
    "duration_minutes",
    "capacity",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "min_notice_minutes",
    "booking_window_days",
    "cancellation_notice_minutes",
    "requires_confirmation",
    "confirmation_timeout_minutes",
    "active",
    "questions",
)


# services


class InPersonLocation(Input):
    type: Literal["in_person"]
    address: Annotated[str, MultiLine(500, min_length=1)]


class OnlineLocation(Input):
    type: Literal["online"]
    url: Url


class PhoneLocation(Input):
    """By phone; ``phone`` is the number the customer calls, omitted = the provider calls."""

    type: Literal["phone"]
    phone: Phone | None = None


Location = Annotated[InPersonLocation | OnlineLocation | PhoneLocation, Field(discriminator="type")]


class RecurrenceIn(Input):
    rrule: Annotated[str, SingleLine(500, min_length=1)]
    start_time: GridTime
    starts_on: IsoDate
    until: IsoDate | None = None
    exdates: list[IsoDate] = Field(default_factory=list, max_length=1000)


class QuestionIn(Input):
    """A question of the booking form. Choices need two or more distinct options; other
    kinds take none. Send a question's ``id`` back when editing so its answers stay
    linked to it; a question without one is new and gets an id."""

    id: uuid.UUID | None = None
    kind: QuestionKind
    label: Annotated[str, SingleLine(200, min_length=1)]
    required: Flag = False
    options: list[QuestionOption] | None = Field(
        default=None, max_length=MAX_OPTIONS, validate_default=True
    )

    @field_validator("options")
    @classmethod
    def _options_fit_the_kind(cls, options: list[str] | None, info: ValidationInfo) -> list[str]:
        kind = info.data.get("kind")
        if kind is None:  # the kind itself is refused: that is the error to show
            return options or []
        if kind not in CHOICE_KINDS:
            if options:
                raise ValueError("only for single_choice and multiple_choice questions")
            return []
        if not options or len(options) < 2:
            raise ValueError("a choice needs at least two options")
        if len({o.casefold() for o in options}) != len(options):
            raise ValueError("options must differ from each other")
        return options


Minutes = Annotated[int, Whole(ge=0, le=525_600)]


class ServiceFields(Input):
    """Every service field with its own range; cross-field rules live in ``service.py``."""

    name: Name | None = None
    kind: Literal["simple", "event", "class"] | None = None
    description: Text | None = None
    duration_minutes: Annotated[int, Whole(ge=1, le=1440)] | None = None
    capacity: Annotated[int, Whole(ge=1, le=10_000)] | None = None
    slot_interval_minutes: Annotated[int, Whole(ge=5, le=1440, multiple_of=5)] | None = None
    buffer_before_minutes: Annotated[int, Whole(ge=0, le=1440)] | None = None
    buffer_after_minutes: Annotated[int, Whole(ge=0, le=1440)] | None = None
    min_notice_minutes: Minutes | None = None
    booking_window_days: Annotated[int, Whole(ge=1, le=730)] | None = None
    max_bookings_per_day: Annotated[int, Whole(ge=1, le=1000)] | None = None
    max_bookings_per_week: Annotated[int, Whole(ge=1, le=5000)] | None = Field(
        default=None,
        description="At most this many bookings of the service start in one ISO week "
        "(Monday to Sunday in the provider's time zone); one-to-one services, like the "
        "daily limit. null = no limit.",
    )
    max_open_bookings_per_customer: Annotated[int, Whole(ge=1, le=1000)] | None = Field(
        default=None,
        description="At most this many open (future, confirmed or pending) bookings of the "
        "service per customer e-mail address. null = no limit.",
    )
    min_gap_minutes_per_customer: Annotated[int, Whole(ge=1, le=525_600)] | None = Field(
        default=None,
        description="At least this many minutes between the end of one of a customer's "
        "bookings of the service and the start of their next one. null = none.",
    )
    cancellation_notice_minutes: Minutes | None = None
    reschedule_notice_minutes: Minutes | None = Field(
        default=None,
        description="Customers may move a booking until this many minutes before it "
        "starts; null = the cancellation notice.",
    )
    requires_confirmation: Flag | None = Field(
        default=None,
        description="Bookings are requests the provider confirms or declines (default false).",
    )
    confirmation_timeout_minutes: Annotated[int, Whole(ge=5, le=43_200)] | None = Field(
        default=None,
        description="An unanswered request expires after this many minutes and frees its "
        "time (5 minutes to 30 days; default 1440).",
    )
    location: Location | None = None
    price_text: Annotated[str, SingleLine(100)] | None = None
    starts_at: AwareDateTime | None = None
    recurrence: RecurrenceIn | None = None
    active: Flag | None = None
    questions: list[QuestionIn] | None = Field(
        default=None,
        max_length=MAX_QUESTIONS,
        description="What the booking form asks the customer (at most 20 questions); a "
        "PATCH replaces the whole list.",
    )


class ServiceCreate(ServiceFields):
    name: Name
    kind: Literal["simple", "event", "class"]
    duration_minutes: Annotated[int, Whole(ge=1, le=1440)]


class ServicePatch(ServiceFields):
    """Partial update; ``kind`` cannot change (bookings refer to it)."""

    model_config = ConfigDict(json_schema_extra=not_nullable(*SERVICE_FIELDS_NOT_NULL))


class ServiceOut(BaseModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    name: str
    kind: Literal["simple", "event", "class"]
    description: str | None
    duration_minutes: int
    capacity: int
    slot_interval_minutes: int | None
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    booking_window_days: int
    max_bookings_per_day: int | None
    max_bookings_per_week: int | None
    max_open_bookings_per_customer: int | None
    min_gap_minutes_per_customer: int | None
    cancellation_notice_minutes: int
    reschedule_notice_minutes: int | None
    requires_confirmation: bool
    confirmation_timeout_minutes: int
    location: dict[str, Any] | None
    price_text: str | None
    starts_at: datetime | None
    recurrence: RecurrenceOut | None
    active: bool
    questions: list[QuestionOut]
    version: int
    created_at: datetime
    updated_at: datetime


class ServiceList(Page[ServiceOut]):
    """A provider's services, archived ones included, oldest first."""


class PublicService(BaseModel):
    """A service as customers see it; an online link or call-in number is only sent with
    the booking confirmation, the public page shows just the kind of location."""

    id: uuid.UUID
    name: str
    kind: Literal["simple", "event", "class"]
    description: str | None
    duration_minutes: int
    capacity: int
    location: dict[str, Any] | None
    price_text: str | None
    starts_at: datetime | None
    recurrence: RecurrenceOut | None
    min_notice_minutes: int
    booking_window_days: int
    cancellation_notice_minutes: int
    reschedule_notice_minutes: int | None = None
    """null: the cancellation notice applies to moving the booking too."""
    requires_confirmation: bool = False
    questions: list[QuestionOut] = []
