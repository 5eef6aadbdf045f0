"""Booking facts: what analytics keeps of each booking, folded from its events.

The consumer turns each booking event into an *observation* (only the facts analytics
keeps: no name, e-mail or phone — the customer is a :func:`customer_key`). A booking's
*fact* is the fold of all its observations in aggregate-version order, so any delivery
order, with any duplicates, gives the same fact. Provider and service rows are merged
the same way, field by field (:func:`merge_fields`). Plain values in and out: no I/O,
no clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calisera.analytics.customers import country_of, customer_key
from calisera.analytics.instants import iso_instant, parse_instant
from calisera.bookings.events import BookingData

STATUS_BY_TYPE = {
    "booking.created": "confirmed",
    "booking.rescheduled": "confirmed",
    "booking.cancelled": "cancelled",
    "booking.completed": "completed",
    "booking.no_show": "no_show",
}
HELD_STATUSES = frozenset({"confirmed", "completed", "no_show"})


def as_uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _status(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.strip().lower().replace("-", "_")


def observe_booking(
    *,
    event_type: str,
    aggregate_version: int,
    occurred_at: datetime,
    data: BookingData,
    secret: bytes,
) -> dict[str, Any]:
    """The JSON-able facts analytics keeps from one booking event (None values dropped):
    the customer's e-mail only as :func:`customer_key`, their phone only as a country."""
    cancelled = event_type == "booking.cancelled"
    obs: dict[str, Any] = {
        "type": event_type,
        "version": aggregate_version,
        "occurred_at": iso_instant(occurred_at),
        "provider_id": str(data.provider_id),
        "service_id": str(data.service_id),
        "service_kind": data.service_kind,
        "service_name": data.service_name,
        "status": _status(data.status) or STATUS_BY_TYPE.get(event_type),
        "start": iso_instant(data.start),
        "end": iso_instant(data.end),
        "seats": data.seats,
        "created_at": iso_instant(data.created_at),
        "cancelled_at": iso_instant(occurred_at) if cancelled else None,
        "provider_timezone": data.provider_timezone,
        "customer_key": customer_key(secret, data.customer.email),
        "customer_timezone": data.customer.timezone,
        "customer_country": country_of(data.customer.phone),
    }
    return {k: v for k, v in obs.items() if v is not None}


@dataclass(frozen=True)
class BookingFact:
    """The current state of one booking as analytics knows it."""

    booking_id: uuid.UUID
    version: int
    provider_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None
    service_kind: str | None = None
    service_name: str | None = None
    status: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    seats: int = 1
    created_at: datetime | None = None
    cancelled_at: datetime | None = None
    reschedules: tuple[datetime, ...] = ()
    provider_timezone: str | None = None
    customer_key: str | None = None
    customer_timezone: str | None = None
    customer_country: str | None = None


_TYPE_ORDER = {t: i for i, t in enumerate(STATUS_BY_TYPE)}


def fold_booking(booking_id: uuid.UUID, observations: Iterable[Mapping[str, Any]]) -> BookingFact:
    """The booking's fact: each field from the newest observation that carries it.

    Observations are ordered by aggregate version (then type and time, for events that
    would share a version), so the result does not depend on arrival order; an older
    event never overrides a newer one, and a field a newer event omits is still filled
    from an older one. Reschedules are the set of all reschedule observations.
    """
    ordered = sorted(
        observations,
        key=lambda o: (int(o["version"]), _TYPE_ORDER.get(o["type"], 99), o["occurred_at"]),
    )
    merged: dict[str, Any] = {}
    reschedules: dict[int, datetime] = {}
    for obs in ordered:
        merged.update({k: v for k, v in obs.items() if k not in ("type", "occurred_at")})
        if obs["type"] == "booking.rescheduled":
            at = parse_instant(obs["occurred_at"])
            assert at is not None
            reschedules[int(obs["version"])] = at
    status = merged.get("status")
    return BookingFact(
        booking_id=booking_id,
        version=int(merged.get("version", 0)),
        provider_id=as_uuid(merged.get("provider_id")),
        service_id=as_uuid(merged.get("service_id")),
        service_kind=merged.get("service_kind"),
        service_name=merged.get("service_name"),
        status=status,
        start=parse_instant(merged.get("start")),
        end=parse_instant(merged.get("end")),
        seats=max(1, as_int(merged.get("seats")) or 1),
        created_at=parse_instant(merged.get("created_at")),
        cancelled_at=parse_instant(merged.get("cancelled_at")) if status == "cancelled" else None,
        reschedules=tuple(reschedules[v] for v in sorted(reschedules)),
        provider_timezone=merged.get("provider_timezone"),
        customer_key=merged.get("customer_key"),
        customer_timezone=merged.get("customer_timezone"),
        customer_country=merged.get("customer_country"),
    )


def merge_fields(
    stored: Mapping[str, Any], version: int, updates: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """Per-field last-writer-wins by aggregate version: ``{field: [version, value]}``.

    Fields an event does not state (None) are left alone, so a newer event that omits a
    field never erases it and an older event never overrides a newer one: any order of
    delivery ends in the same values.
    """
    merged: dict[str, list[Any]] = {k: list(v) for k, v in stored.items()}
    for name, value in updates.items():
        if value is None:
            continue
        if name not in merged or int(merged[name][0]) <= version:
            merged[name] = [version, value]
    return merged


def field_values(fields: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    return {name: entry[1] for name, entry in fields.items()}
