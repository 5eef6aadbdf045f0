"""The schedule read model other services fetch through :mod:`calisera.providers.client`
(``ScheduleConfig``): everything needed to compute one service's slots, convertible
into :mod:`calisera.scheduling` values; and the booking questions it carries."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
)

from calisera.core.text import SingleLine
from calisera.providers.fields import (
    StatedGridTime,
    StatedLocalDateTime,
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

# --- booking questions: asked on the booking form, defined on the service ---


QuestionKind = Literal["text", "long_text", "single_choice", "multiple_choice", "checkbox", "phone"]
CHOICE_KINDS = frozenset({"single_choice", "multiple_choice"})
MAX_QUESTIONS = 20
MAX_OPTIONS = 20
QuestionOption = Annotated[str, SingleLine(100, min_length=1)]


class QuestionOut(BaseModel):
    """One question of the booking form (``options`` is empty unless it is a choice)."""

    id: uuid.UUID
    kind: QuestionKind
    label: str
    required: bool = False
    options: list[str] = []


# --- internal read model: GET /internal/v1/providers/services/{service_id}/schedule ---


class WallIntervalOut(BaseModel):
    start: StatedGridTime
    end: StatedGridTime


class WeeklyRuleOut(BaseModel):
    weekday: int
    start: StatedGridTime
    end: StatedGridTime


class DateOverrideOut(BaseModel):
    date: date
    intervals: list[WallIntervalOut]


class TimeOffOut(BaseModel):
    start: StatedLocalDateTime  # naive, provider's wall clock
    end: StatedLocalDateTime
    reason: str | None = None


class RecurrenceOut(BaseModel):
    rrule: str
    start_time: StatedGridTime
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
    max_bookings_per_week: int | None = None
    max_open_bookings_per_customer: int | None = None
    min_gap_minutes_per_customer: int | None = None
    cancellation_notice_minutes: int = 0
    reschedule_notice_minutes: int | None = None
    requires_confirmation: bool = False
    confirmation_timeout_minutes: int = 1440
    starts_at: datetime | None = None
    recurrence: RecurrenceOut | None = None
    active: bool = True
    questions: list[QuestionOut] = []
    """What the booking form asks; the bookings service checks answers against it."""

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
            max_bookings_per_week=self.max_bookings_per_week,
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
            suspended=self.provider_suspended,
        )

    def blocking_services(self) -> tuple[ServiceDefinition, ...]:
        return tuple(s.definition() for s in self.other_services if s.kind != "simple")
