"""Availability: weekly hours, date overrides and time off, in and out."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
)

from calisera.core.text import SingleLine
from calisera.core.values import IsoDate, Whole
from calisera.providers.fields import (
    GridTime,
    LocalDateTime,
)
from calisera.providers.schemas.inputs import Input
from calisera.providers.schemas.schedule import DateOverrideOut, TimeOffOut, WeeklyRuleOut

# availability


class IntervalIn(Input):
    start: GridTime
    end: GridTime


class WeeklyRuleIn(Input):
    weekday: Annotated[int, Whole(ge=0, le=6)]
    start: GridTime
    end: GridTime


class DateOverrideIn(Input):
    date: IsoDate
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
