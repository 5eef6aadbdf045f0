"""The service's limits per customer: open bookings per e-mail address, and the least
time between one customer's bookings.

Checked inside the booking's transaction after its provider's lock
(:mod:`calisera.bookings.locks`), like the daily and weekly limits: every booking write
of the provider waits for that lock, and under it each statement sees every earlier
committed booking, so two concurrent bookings of one customer cannot both pass a count
that each made before the other committed.

Decisions: a customer is their e-mail address, compared case-insensitively (the only
identity a guest booking has). *Open* means starting after now and confirmed, or
pending and not expired. The gap counts every booking that holds or held the time
(confirmed, pending and unexpired, completed, no-show), past ones included, so "one
appointment every 30 days" means what it says; cancelled, declined and expired ones do
not count. A reschedule is checked against the customer's other bookings.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.errors import LimitReached
from calisera.providers.schemas import ServiceScheduleOut

_OPEN = sa.text(
    """
    SELECT count(*) FROM bookings.bookings
     WHERE service_id = :service_id AND lower(customer_email) = lower(:email)
       AND start_at > :now
       AND (status = 'confirmed' OR (status = 'pending' AND expires_at > :now))
       AND id IS DISTINCT FROM CAST(:exclude AS uuid)
    """
)
_TOO_CLOSE = sa.text(
    """
    SELECT start_at FROM bookings.bookings
     WHERE service_id = :service_id AND lower(customer_email) = lower(:email)
       AND start_at < :end_plus_gap AND end_at > :start_minus_gap
       AND (status IN ('confirmed', 'completed', 'no_show')
            OR (status = 'pending' AND expires_at > :now))
       AND id IS DISTINCT FROM CAST(:exclude AS uuid)
     ORDER BY start_at LIMIT 1
    """
)
"""Both served by ``ix_bookings_service_customer (service_id, lower(customer_email),
start_at)``."""


async def check_customer_limits(
    session: AsyncSession,
    service: ServiceScheduleOut,
    email: str,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    exclude_booking_id: uuid.UUID | None = None,
) -> None:
    """Raise :class:`LimitReached` when a booking of ``email`` for ``[start, end)``
    would break ``max_open_bookings_per_customer`` or ``min_gap_minutes_per_customer``
    (``exclude_booking_id``: the booking being moved)."""
    limit = service.max_open_bookings_per_customer
    if limit is not None and start > now:
        open_count = await session.scalar(
            _OPEN,
            {"service_id": service.id, "email": email, "now": now, "exclude": exclude_booking_id},
        )
        if (open_count or 0) >= limit:
            raise LimitReached.of(
                "max_open_bookings_per_customer",
                f"You already have {open_count} upcoming booking{'s' if open_count != 1 else ''}"
                f" of {service.name}; at most {limit} at a time.",
            )
    gap = service.min_gap_minutes_per_customer
    if gap is not None:
        closest = await session.scalar(
            _TOO_CLOSE,
            {
                "service_id": service.id,
                "email": email,
                "end_plus_gap": end + timedelta(minutes=gap),
                "start_minus_gap": start - timedelta(minutes=gap),
                "now": now,
                "exclude": exclude_booking_id,
            },
        )
        if closest is not None:
            raise LimitReached.of(
                "min_gap_minutes_per_customer",
                f"Bookings of {service.name} by one customer must be at least {gap} minutes "
                f"apart; you have one at {closest.isoformat()}.",
            )
