"""The events the bookings service emits: ``booking.*`` (``shared/API.md``).

Every booking event carries the booking as it is after the change (so a consumer never
needs to call back), who made the change and why; ``booking.created`` also carries
what only it can: the provider's slug and the customer's manage token, sealed with
:mod:`calisera.core.sealing` so it is readable only by the notifications service.
A service that requires confirmation emits ``booking.requested`` instead (with the
same extras), then one of ``booking.confirmed``, ``booking.declined``,
``booking.expired`` or ``booking.cancelled``.
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


class BookingAnswer(EventData):
    """An answer to a booking question, with the question's label and kind as asked."""

    question_id: uuid.UUID
    label: str
    kind: str
    value: str | bool | list[str]


class SeriesMember(EventData):
    """One booking of a class series that a change touched."""

    booking_id: uuid.UUID
    version: int
    start: datetime
    end: datetime


class SeriesInfo(EventData):
    """The class series a booking belongs to. One change of several bookings of a series
    (booking it, cancelling the rest of it) emits one event per booking; one of them
    ``speaks`` for the change and lists its ``members``, so people get one message about
    the change, not one per occurrence."""

    id: uuid.UUID
    speaks: bool = True
    members: list[SeriesMember] = []
    """On the event that speaks: every booking the change touched, by start."""


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
    answers: list[BookingAnswer] = []
    """The customer's answers to the service's booking questions."""
    actor: ActorKind
    reason: str | None = None
    provider_slug: str | None = None
    """Set on ``booking.created`` (the manage link needs it); other events may omit it."""
    manage_token_sealed: str | None = None
    """Only on ``booking.created``: the customer's manage token, sealed."""
    previous_start: datetime | None = None
    """On ``booking.rescheduled``: where the booking was before."""
    previous_end: datetime | None = None
    expires_at: datetime | None = None
    """On ``booking.requested``: when the unanswered request expires and frees its time."""
    series: SeriesInfo | None = None
    """For a booking of a class series: the series, and whether this event speaks for
    the change (``booking.created``, ``booking.cancelled``)."""


BOOKING_CREATED = EventType("booking.created", BookingData)
BOOKING_CANCELLED = EventType("booking.cancelled", BookingData)
BOOKING_RESCHEDULED = EventType("booking.rescheduled", BookingData)
BOOKING_COMPLETED = EventType("booking.completed", BookingData)
BOOKING_NO_SHOW = EventType("booking.no_show", BookingData)

# A booking of a service that requires confirmation starts as a request (``pending``):
BOOKING_REQUESTED = EventType("booking.requested", BookingData)
"""A customer asked; the time is held until ``expires_at``. Carries what
``booking.created`` carries (slug, sealed manage token)."""
BOOKING_CONFIRMED = EventType("booking.confirmed", BookingData)
"""The provider accepted the request: it is now a confirmed booking."""
BOOKING_DECLINED = EventType("booking.declined", BookingData)
"""The provider declined the request (``reason`` optional); its time is free."""
BOOKING_EXPIRED = EventType("booking.expired", BookingData)
"""Nobody answered the request in time (``actor`` is ``system``); its time is free."""

BOOKING_EVENTS: dict[str, EventType[BookingData]] = {
    t.name: t
    for t in (
        BOOKING_CREATED,
        BOOKING_CANCELLED,
        BOOKING_RESCHEDULED,
        BOOKING_COMPLETED,
        BOOKING_NO_SHOW,
        BOOKING_REQUESTED,
        BOOKING_CONFIRMED,
        BOOKING_DECLINED,
        BOOKING_EXPIRED,
    )
}


def parse_booking_event(envelope_type: str) -> EventType[BookingData]:
    """The :class:`EventType` of a ``booking.*`` type name (KeyError for others)."""
    return BOOKING_EVENTS[envelope_type]


class HoldData(EventData):
    """A slot hold (``POST /api/v1/holds``): placed, or given back before it expired."""

    hold_id: uuid.UUID
    service_id: uuid.UUID
    provider_id: uuid.UUID
    start: datetime
    end: datetime
    seats: int
    expires_at: datetime


HOLD_PLACED = EventType("hold.placed", HoldData)
"""A customer holds a slot (or seats) until ``expires_at``: it is busy for everyone else."""
HOLD_RELEASED = EventType("hold.released", HoldData)
"""The hold was given back (``DELETE /api/v1/holds/{id}``) before it expired; consumed
holds announce nothing of their own (the booking's event does), expiring ones neither
(every reader ignores an expired hold)."""

HOLD_EVENTS: dict[str, EventType[HoldData]] = {t.name: t for t in (HOLD_PLACED, HOLD_RELEASED)}


class WaitlistData(EventData):
    """A waitlist entry after the change (:mod:`calisera.bookings.waitlist`)."""

    entry_id: uuid.UUID
    service_id: uuid.UUID
    service_name: str
    provider_id: uuid.UUID
    provider_name: str
    provider_timezone: str
    provider_slug: str | None = None
    start: datetime
    end: datetime
    seats: int
    status: Literal["waiting", "offered", "claimed", "expired", "left"]
    customer: BookingCustomer
    created_at: datetime
    offer_expires_at: datetime | None = None
    """On ``waitlist.offered``: until when the held seats wait for the claim."""
    booking_id: uuid.UUID | None = None
    """On ``waitlist.claimed``: the booking the claim made."""
    claim_token_sealed: str | None = None
    """On ``waitlist.joined`` and ``waitlist.offered``: the entry's token, sealed for the
    notifications service (:mod:`calisera.core.sealing`), so the e-mail can carry the
    link to the entry (to leave it, or to claim the offer)."""
    position: int | None = None
    """On ``waitlist.joined``: the entry's place in line when it joined (1: next)."""


WAITLIST_JOINED = EventType("waitlist.joined", WaitlistData)
"""A customer joined the waitlist of a full occurrence."""
WAITLIST_OFFERED = EventType("waitlist.offered", WaitlistData)
"""Seats freed and are held for this entry until ``offer_expires_at``: the customer is
e-mailed a claim link. Written in the transaction that freed the seats."""
WAITLIST_CLAIMED = EventType("waitlist.claimed", WaitlistData)
"""The customer claimed the offer: ``booking_id`` is the booking (its own
``booking.created`` follows in the same transaction)."""
WAITLIST_EXPIRED = EventType("waitlist.expired", WaitlistData)
"""The offer ran out unclaimed; its seats went to the next in line (or back on sale)."""
WAITLIST_LEFT = EventType("waitlist.left", WaitlistData)
"""The customer left the waitlist (giving back an open offer's seats)."""

WAITLIST_EVENTS: dict[str, EventType[WaitlistData]] = {
    t.name: t
    for t in (WAITLIST_JOINED, WAITLIST_OFFERED, WAITLIST_CLAIMED, WAITLIST_EXPIRED, WAITLIST_LEFT)
}
