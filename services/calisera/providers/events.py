"""The events the providers service emits (``shared/API.md``): ``provider.*``,
``service.*`` and ``availability.updated``.

Each carries the aggregate as it is after the change (profile, service or the whole
availability), so consumers keep their own read models without calling back; updates
name the fields that changed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from calisera.core.events import EventData, EventType
from calisera.providers.schemas import (
    BookingPageOut,
    ContactOut,
    DateOverrideOut,
    QuestionOut,
    RecurrenceOut,
    TimeOffOut,
    WeeklyRuleOut,
)

SOURCE = "providers"


class ProviderData(EventData):
    """The provider's profile after the change (``provider.created|updated|deleted``)."""

    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    locale: str
    bio: str | None = None
    photo_url: str | None = None
    logo_url: str | None = None
    contact: ContactOut = ContactOut()
    booking_page: BookingPageOut = BookingPageOut()
    owner_email: str
    owner_subject: str | None = None
    suspended: bool = False
    listed: bool = False
    categories: list[str] = []
    city: str | None = None
    area: str | None = None
    languages: list[str] = []
    booking_url: str
    qr_code_url: str
    changed: list[str] = []
    """On ``provider.updated``: the names of the fields that changed."""


class ServiceData(EventData):
    """A service of the catalog after the change (``service.created|updated|archived``)."""

    id: uuid.UUID
    provider_id: uuid.UUID
    name: str
    kind: Literal["simple", "event", "class"]
    description: str | None = None
    duration_minutes: int
    capacity: int
    slot_interval_minutes: int | None = None
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 60
    booking_window_days: int = 60
    max_bookings_per_day: int | None = None
    max_bookings_per_week: int | None = None
    max_open_bookings_per_customer: int | None = None
    min_gap_minutes_per_customer: int | None = None
    cancellation_notice_minutes: int = 0
    reschedule_notice_minutes: int | None = None
    requires_confirmation: bool = False
    confirmation_timeout_minutes: int = 1440
    location: dict[str, Any] | None = None
    price_text: str | None = None
    starts_at: datetime | None = None
    recurrence: RecurrenceOut | None = None
    active: bool = True
    questions: list[QuestionOut] = []
    changed: list[str] = []
    """On ``service.updated`` / ``service.archived`` by PATCH: the fields that changed."""


class AvailabilityData(EventData):
    """The provider's whole availability after a ``PUT``, in its wall clock and zone."""

    timezone: str
    weekly: list[WeeklyRuleOut] = []
    overrides: list[DateOverrideOut] = []
    time_off: list[TimeOffOut] = []


PROVIDER_CREATED = EventType("provider.created", ProviderData)
PROVIDER_UPDATED = EventType("provider.updated", ProviderData)
PROVIDER_DELETED = EventType("provider.deleted", ProviderData)
SERVICE_CREATED = EventType("service.created", ServiceData)
SERVICE_UPDATED = EventType("service.updated", ServiceData)
SERVICE_ARCHIVED = EventType("service.archived", ServiceData)
AVAILABILITY_UPDATED = EventType("availability.updated", AvailabilityData)
