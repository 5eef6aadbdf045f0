"""Request and response models of the providers service (the contract's types).

``ScheduleConfig`` is the internal read model other services (listing, bookings) fetch
through :mod:`calisera.providers.client`: everything needed to compute one service's
slots, convertible into :mod:`calisera.scheduling` values.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from calisera.core.pagination import Page
from calisera.core.text import MultiLine, SingleLine
from calisera.providers.fields import (
    AccentColor,
    AwareDateTime,
    Email,
    GridTime,
    LocalDateTime,
    Locale,
    Name,
    Phone,
    Slug,
    Text,
    TimeZoneName,
    Url,
)
from calisera.scheduling.model import (
    DateOverride,
    ProviderSchedule,
    Recurrence,
    ServiceDefinition,
    ServiceKind,
    TimeOff,
    WallInterval,
    WeeklyRule,
)

# --- internal read model: GET /internal/v1/providers/services/{service_id}/schedule ---


class WallIntervalOut(BaseModel):
    start: time
    end: time


class WeeklyRuleOut(BaseModel):
    weekday: int
    start: time
    end: time


class DateOverrideOut(BaseModel):
    date: date
    intervals: list[WallIntervalOut]


class TimeOffOut(BaseModel):
    start: datetime  # naive, provider's wall clock
    end: datetime
    reason: str | None = None


class RecurrenceOut(BaseModel):
    rrule: str
    start_time: time
    starts_on: date
    until: date | None = None
    exdates: list[date] = []


class ServiceScheduleOut(BaseModel):
    """One service as the scheduling engine needs it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider_id: uuid.UUID
    name: str
    kind: Literal["simple", "event", "class"]
    duration_minutes: int
    capacity: int
    slot_interval_minutes: int | None = None
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 60
    booking_window_days: int = 60
    max_bookings_per_day: int | None = None
    cancellation_notice_minutes: int = 0
    starts_at: datetime | None = None
    recurrence: RecurrenceOut | None = None
    active: bool = True

    def definition(self) -> ServiceDefinition:
        rec = self.recurrence
        return ServiceDefinition(
            id=self.id,
            kind=ServiceKind(self.kind),
            duration_minutes=self.duration_minutes,
            capacity=self.capacity,
            slot_interval_minutes=self.slot_interval_minutes,
            buffer_before_minutes=self.buffer_before_minutes,
            buffer_after_minutes=self.buffer_after_minutes,
            min_notice_minutes=self.min_notice_minutes,
            booking_window_days=self.booking_window_days,
            max_bookings_per_day=self.max_bookings_per_day,
            starts_at=self.starts_at,
            recurrence=Recurrence(
                rrule=rec.rrule,
                start_time=rec.start_time,
                starts_on=rec.starts_on,
                until=rec.until,
                exdates=tuple(rec.exdates),
            )
            if rec
            else None,
            active=self.active,
        )


class ScheduleConfig(BaseModel):
    """Provider zone and hours, the service, and the provider's other events/classes.

    Served with an ``ETag`` (``version``); callers cache it and revalidate with
    ``If-None-Match``. ``version`` changes whenever any part of it changes.
    """

    provider_id: uuid.UUID
    provider_slug: str
    provider_name: str
    provider_suspended: bool = False
    timezone: str
    weekly: list[WeeklyRuleOut]
    overrides: list[DateOverrideOut]
    time_off: list[TimeOffOut]
    service: ServiceScheduleOut
    other_services: list[ServiceScheduleOut]
    """Active event and class services of the same provider (they block simple slots)."""
    version: str

    def provider_schedule(self) -> ProviderSchedule:
        return ProviderSchedule(
            timezone=self.timezone,
            weekly=tuple(WeeklyRule(r.weekday, r.start, r.end) for r in self.weekly),
            overrides=tuple(
                DateOverride(o.date, tuple(WallInterval(i.start, i.end) for i in o.intervals))
                for o in self.overrides
            ),
            time_off=tuple(TimeOff(t.start, t.end) for t in self.time_off),
        )

    def blocking_services(self) -> tuple[ServiceDefinition, ...]:
        return tuple(s.definition() for s in self.other_services if s.kind != "simple")


# --- public API: providers, services, availability ---------------------------------


class Input(BaseModel):
    """Request bodies reject unknown fields, so a typo is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Contact(Input):
    email: Email | None = None
    phone: Phone | None = None


class BookingPage(Input):
    """How the public booking page looks; ``shown_service_ids`` null = every active service."""

    accent_color: AccentColor | None = None
    welcome_text: Annotated[str, MultiLine(2000)] | None = None
    shown_service_ids: list[uuid.UUID] | None = Field(default=None, max_length=200)


class ProviderCreate(Input):
    slug: Slug
    name: Name
    timezone: TimeZoneName
    owner_email: Email | None = None
    """Required for the admin; a signed-in user may omit it (it defaults to their e-mail)."""
    bio: Text | None = None
    photo_url: Url | None = None
    logo_url: Url | None = None
    contact: Contact | None = None
    locale: Locale = "en"
    booking_page: BookingPage | None = None
    suspended: bool = False


class ProviderPatch(Input):
    """Partial update: only the fields sent change; ``null`` clears an optional field."""

    slug: Slug | None = None
    name: Name | None = None
    timezone: TimeZoneName | None = None
    owner_email: Email | None = None
    bio: Text | None = None
    photo_url: Url | None = None
    logo_url: Url | None = None
    contact: Contact | None = None
    locale: Locale | None = None
    booking_page: BookingPage | None = None
    suspended: bool | None = None


class ContactOut(BaseModel):
    email: str | None = None
    phone: str | None = None


class BookingPageOut(BaseModel):
    accent_color: str | None = None
    welcome_text: str | None = None
    shown_service_ids: list[uuid.UUID] | None = None


class ProviderOut(BaseModel):
    """The full record, for the owner and the admin."""

    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    locale: str
    bio: str | None
    photo_url: str | None
    logo_url: str | None
    contact: ContactOut
    booking_page: BookingPageOut
    owner_email: str
    owner_subject: str | None
    """The owner's user id when they created the provider themselves (admin-created
    providers are owned by e-mail until then)."""
    suspended: bool
    booking_url: str
    qr_code_url: str
    version: int
    created_at: datetime
    updated_at: datetime


class ProviderList(Page[ProviderOut]):
    """Providers the caller may manage, oldest first."""


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
    starts_on: date
    until: date | None = None
    exdates: list[date] = Field(default_factory=list, max_length=1000)


Minutes = Annotated[int, Field(ge=0, le=525_600)]


class ServiceFields(Input):
    """Every service field with its own range; cross-field rules live in ``service.py``."""

    name: Name | None = None
    kind: Literal["simple", "event", "class"] | None = None
    description: Text | None = None
    duration_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None
    capacity: Annotated[int, Field(ge=1, le=10_000)] | None = None
    slot_interval_minutes: Annotated[int, Field(ge=5, le=1440, multiple_of=5)] | None = None
    buffer_before_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None
    buffer_after_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None
    min_notice_minutes: Minutes | None = None
    booking_window_days: Annotated[int, Field(ge=1, le=730)] | None = None
    max_bookings_per_day: Annotated[int, Field(ge=1, le=1000)] | None = None
    cancellation_notice_minutes: Minutes | None = None
    location: Location | None = None
    price_text: Annotated[str, SingleLine(100)] | None = None
    starts_at: AwareDateTime | None = None
    recurrence: RecurrenceIn | None = None
    active: bool | None = None


class ServiceCreate(ServiceFields):
    name: Name
    kind: Literal["simple", "event", "class"]
    duration_minutes: Annotated[int, Field(ge=1, le=1440)]


class ServicePatch(ServiceFields):
    """Partial update; ``kind`` cannot change (bookings refer to it)."""


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
    cancellation_notice_minutes: int
    location: dict[str, Any] | None
    price_text: str | None
    starts_at: datetime | None
    recurrence: RecurrenceOut | None
    active: bool
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


class PublicProfile(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    locale: str
    bio: str | None
    photo_url: str | None
    logo_url: str | None
    contact: ContactOut
    accent_color: str | None
    welcome_text: str | None
    booking_url: str
    qr_code_url: str
    suspended: bool
    services: list[PublicService]


# availability


class IntervalIn(Input):
    start: GridTime
    end: GridTime


class WeeklyRuleIn(Input):
    weekday: Annotated[int, Field(ge=0, le=6)]
    start: GridTime
    end: GridTime


class DateOverrideIn(Input):
    date: date
    intervals: list[IntervalIn] = Field(default_factory=list, max_length=48)


class TimeOffIn(Input):
    start: LocalDateTime
    end: LocalDateTime
    reason: Annotated[str, SingleLine(200)] | None = None


class AvailabilityIn(Input):
    """Weekly hours, date overrides and time off, all in the provider's wall clock."""

    weekly: list[WeeklyRuleIn] = Field(default_factory=list, max_length=200)
    overrides: list[DateOverrideIn] = Field(default_factory=list, max_length=1000)
    time_off: list[TimeOffIn] = Field(default_factory=list, max_length=500)


class AvailabilityOut(BaseModel):
    weekly: list[WeeklyRuleOut]
    overrides: list[DateOverrideOut]
    time_off: list[TimeOffOut]
