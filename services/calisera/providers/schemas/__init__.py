"""Request and response models of the providers service (the contract's types), by topic:

- :mod:`.schedule` — ``ScheduleConfig``, the read model listing and bookings fetch through
  :mod:`calisera.providers.client`, and the booking questions it carries;
- :mod:`.providers` — profiles, the public page, the directory;
- :mod:`.services` — services of the three kinds;
- :mod:`.hours` — weekly hours, overrides, time off.

Everything is importable from here (other services import ``calisera.providers.schemas``).
"""

from __future__ import annotations

from calisera.providers.schemas.hours import (
    AvailabilityIn,
    AvailabilityOut,
    DateOverrideIn,
    IntervalIn,
    TimeOffIn,
    WeeklyRuleIn,
)
from calisera.providers.schemas.inputs import (
    Input,
)
from calisera.providers.schemas.providers import (
    CATEGORY_LIST,
    PROVIDER_FIELDS_NOT_NULL,
    BookingPage,
    BookingPageOut,
    Contact,
    ContactOut,
    DirectoryEntry,
    DirectoryPage,
    ProviderCreate,
    ProviderList,
    ProviderOut,
    ProviderPatch,
    PublicProfile,
    ServiceCategory,
)
from calisera.providers.schemas.schedule import (
    CHOICE_KINDS,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    DateOverrideOut,
    QuestionKind,
    QuestionOption,
    QuestionOut,
    RecurrenceOut,
    ScheduleConfig,
    ServiceScheduleOut,
    TimeOffOut,
    WallIntervalOut,
    WeeklyRuleOut,
)
from calisera.providers.schemas.services import (
    SERVICE_FIELDS_NOT_NULL,
    InPersonLocation,
    Location,
    Minutes,
    OnlineLocation,
    PhoneLocation,
    PublicService,
    QuestionIn,
    RecurrenceIn,
    ServiceCreate,
    ServiceFields,
    ServiceList,
    ServiceOut,
    ServicePatch,
)

__all__ = [
    "CATEGORY_LIST",
    "CHOICE_KINDS",
    "MAX_OPTIONS",
    "MAX_QUESTIONS",
    "PROVIDER_FIELDS_NOT_NULL",
    "SERVICE_FIELDS_NOT_NULL",
    "AvailabilityIn",
    "AvailabilityOut",
    "BookingPage",
    "BookingPageOut",
    "Contact",
    "ContactOut",
    "DateOverrideIn",
    "DateOverrideOut",
    "DirectoryEntry",
    "DirectoryPage",
    "InPersonLocation",
    "Input",
    "IntervalIn",
    "Location",
    "Minutes",
    "OnlineLocation",
    "PhoneLocation",
    "ProviderCreate",
    "ProviderList",
    "ProviderOut",
    "ProviderPatch",
    "PublicProfile",
    "PublicService",
    "QuestionIn",
    "QuestionKind",
    "QuestionOption",
    "QuestionOut",
    "RecurrenceIn",
    "RecurrenceOut",
    "ScheduleConfig",
    "ServiceCategory",
    "ServiceCreate",
    "ServiceFields",
    "ServiceList",
    "ServiceOut",
    "ServicePatch",
    "ServiceScheduleOut",
    "TimeOffIn",
    "TimeOffOut",
    "WallIntervalOut",
    "WeeklyRuleIn",
    "WeeklyRuleOut",
]
