"""Request and response models of the bookings service (the contract's types).

``BusyTime`` is the internal read model the listing service fetches through
:mod:`calisera.bookings.client`: a provider's confirmed time and occurrence seat
counts over a range, convertible into :mod:`calisera.scheduling` values.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

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
