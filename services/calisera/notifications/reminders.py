"""Reminders are rows keyed by (booking, booking version, offset); ``booking_state`` keeps
the newest version and status seen per booking, and the sweep sends a reminder only
when its version is still the booking's current one and the booking is not cancelled.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.notifications.deliveries import queue_messages
from calisera.notifications.models import (
    booking_state,
    reminders,
)
from calisera.notifications.preferences import ProviderSettings, get_settings

REMINDER_NAMESPACE = uuid.UUID("6f1c2f63-5c0e-4d1c-9a57-7c1f0b0c0a11")


NO_REMINDER_KINDS = frozenset({"cancelled", "requested", "declined", "expired"})
"""Messages after which the booking is not (or not yet) happening: no reminder."""


async def schedule_reminders(
    session: AsyncSession,
    booking_id: uuid.UUID,
    provider_id: uuid.UUID,
    version: int,
    payload: dict[str, Any],
    prefs: ProviderSettings,
    kind: str,
) -> None:
    if version > 1:  # a booking's first version has no earlier reminders to cancel
        await session.execute(
            reminders.update()
            .where(
                reminders.c.booking_id == booking_id,
                reminders.c.status == "scheduled",
                reminders.c.booking_version < version,
            )
            .values(status="cancelled")
        )
    if kind in NO_REMINDER_KINDS:
        return
    start = datetime.fromisoformat(str(payload["start"]))
    now = datetime.now(UTC)
    rows = [
        {
            "booking_id": booking_id,
            "booking_version": version,
            "offset_minutes": offset,
            "provider_id": provider_id,
            "due_at": start - timedelta(minutes=offset),
            "payload": {**payload, "kind": "reminder", "offset_minutes": offset},
        }
        for offset in prefs.reminder_offsets
        if start - timedelta(minutes=offset) > now
    ]
    if rows:
        await session.execute(_SCHEDULE, rows)


_SCHEDULE = insert(reminders).on_conflict_do_nothing()
"""Built once, run with the rows."""


async def sweep_reminders(
    session: AsyncSession, now: datetime | None = None, *, email: bool = True
) -> int:
    """Turn due reminders into messages; drop those of cancelled or moved bookings."""
    now = now or datetime.now(UTC)
    due = (
        await session.execute(
            sa.select(reminders, booking_state.c.version, booking_state.c.status.label("bstatus"))
            .join(booking_state, booking_state.c.booking_id == reminders.c.booking_id)
            .where(reminders.c.status == "scheduled", reminders.c.due_at <= now)
            .order_by(reminders.c.due_at)
            .limit(200)
            .with_for_update(of=reminders, skip_locked=True)
        )
    ).all()
    queued = 0
    for r in due:
        valid = r.version == r.booking_version and r.bstatus != "cancelled"
        if valid:
            key = uuid.uuid5(
                REMINDER_NAMESPACE, f"{r.booking_id}:{r.booking_version}:{r.offset_minutes}"
            )
            customer = r.payload.get("customer") or {}
            prefs = await get_settings(session, r.provider_id)
            planned = []
            if email and customer.get("email"):
                planned.append(("email", customer["email"], "customer"))
            if prefs.sms_customer and customer.get("phone"):
                planned.append(("sms", customer["phone"], "customer"))
            await queue_messages(session, key, r.provider_id, r.booking_id, r.payload, planned)
            queued += len(planned)
        await session.execute(
            reminders.update()
            .where(
                reminders.c.booking_id == r.booking_id,
                reminders.c.booking_version == r.booking_version,
                reminders.c.offset_minutes == r.offset_minutes,
            )
            .values(status="sent" if valid else "cancelled")
        )
    return queued
