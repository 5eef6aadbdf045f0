"""The events the bookings service emits: ``booking.*`` (``shared/API.md``).

Every booking event carries the booking as it is after the change (so a consumer never
needs to call back), who made the change and why; ``booking.created`` also carries
what only it can: the provider's slug and the customer's manage token, sealed with
:mod:`calisera.core.sealing` so it is readable only by the notifications service.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from calisera.core.events import EventData, EventType

SOURCE = "bookings"

ServiceKind = Literal["simple", "event", "class"]
ActorKind = Literal["customer", "owner", "admin", "system"]


class BookingCustomer(EventData):
    name: str
    email: str
    phone: str | None = None
    timezone: str | None = None


class BookingData(EventData):
    """The booking after the change, and who changed it."""

    booking_id: uuid.UUID
    service_id: uuid.UUID
    service_kind: ServiceKind
    service_name: str
    provider_id: uuid.UUID
    provider_name: str
    provider_timezone: str
    start: datetime
    end: datetime
    seats: int
    status: str
    created_at: datetime
    customer: BookingCustomer
    actor: ActorKind
    reason: str | None = None
    provider_slug: str | None = None
    """Set on ``booking.created`` (the manage link needs it); other events may omit it."""
    manage_token_sealed: str | None = None
    """Only on ``booking.created``: the customer's manage token, sealed."""
    previous_start: datetime | None = None
    """On ``booking.rescheduled``: where the booking was before."""
    previous_end: datetime | None = None


BOOKING_CREATED = EventType("booking.created", BookingData)
BOOKING_CANCELLED = EventType("booking.cancelled", BookingData)
BOOKING_RESCHEDULED = EventType("booking.rescheduled", BookingData)
BOOKING_COMPLETED = EventType("booking.completed", BookingData)
BOOKING_NO_SHOW = EventType("booking.no_show", BookingData)

BOOKING_EVENTS: dict[str, EventType[BookingData]] = {
    t.name: t
    for t in (
        BOOKING_CREATED,
        BOOKING_CANCELLED,
        BOOKING_RESCHEDULED,
        BOOKING_COMPLETED,
        BOOKING_NO_SHOW,
    )
}


def parse_booking_event(envelope_type: str) -> EventType[BookingData]:
    """The :class:`EventType` of a ``booking.*`` type name (KeyError for others)."""
    return BOOKING_EVENTS[envelope_type]
