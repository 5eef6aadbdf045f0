"""The .ics of a booking, built with the shared :func:`calisera.core.ical.booking_ics`."""

from __future__ import annotations

from typing import Any

from calisera.core.ical import booking_ics, booking_uid


def booking_calendar(row: Any, *, organizer_email: str | None = None) -> bytes:
    """A bookings row as an iCalendar file (``METHOD:PUBLISH``, for download)."""
    cancelled = row.status == "cancelled"
    return booking_ics(
        uid=booking_uid(row.id),
        sequence=row.version,
        start=row.start_at,
        end=row.end_at,
        summary=f"{row.service_name} with {row.provider_name}",
        description=row.notes,
        organizer_email=organizer_email,
        organizer_name=row.provider_name,
        attendee_email=row.customer_email,
        attendee_name=row.customer_name,
        method="PUBLISH",
        status="CANCELLED" if cancelled else "CONFIRMED",
        stamp=row.updated_at,
    )
