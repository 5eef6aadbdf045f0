"""Typed client of the bookings service, for other services (listing, web).

The bookings problems a client may need to tell apart are re-exported here: core's
slug registry turns an answer's ``type`` back into these classes
(:func:`calisera.core.clients.raise_for_problem`), so callers catch classes, not
strings.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from calisera.bookings.decision_links import decision_token
from calisera.bookings.errors import (
    CHANGE_REFUSED,
    AlreadyWaiting,
    BookingNotFound,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    InvalidTransition,
    LimitReached,
    NotBookable,
    OfferExpired,
    RequestExpired,
    SeatsAvailable,
    SlotUnavailable,
    TooLateToChange,
    WaitlistEntryNotFound,
)
from calisera.bookings.schemas import BusyTime
from calisera.core.clients import ServiceClient

__all__ = [
    "CHANGE_REFUSED",
    "AlreadyWaiting",
    "BookingNotFound",
    "BookingsClient",
    "IdempotencyInFlight",
    "IdempotencyKeyReused",
    "InvalidTransition",
    "LimitReached",
    "NotBookable",
    "OfferExpired",
    "RequestExpired",
    "SeatsAvailable",
    "SlotUnavailable",
    "TooLateToChange",
    "WaitlistEntryNotFound",
    "decision_token",
]


class BookingsClient(ServiceClient):
    service = "bookings"

    async def busy_time(self, provider_id: uuid.UUID, start: datetime, end: datetime) -> BusyTime:
        """Confirmed time and occurrence seats of ``provider_id`` overlapping ``[start, end)``."""
        response = await self.request(
            "GET",
            "/internal/v1/bookings/busy",
            params={
                "provider_id": str(provider_id),
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        )
        response.raise_for_status()
        return BusyTime.model_validate_json(response.content)
