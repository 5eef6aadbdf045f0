"""The service catalog: services of three kinds (simple, event, class), their
cross-field rules, and archiving. Functions take the caller's session and never commit."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.auth import Principal
from calisera.core.errors import FieldError, InvalidInput
from calisera.core.locks import lock_provider
from calisera.core.pagination import after_cursor, page_of
from calisera.providers import events
from calisera.providers.access import (
    managed_provider,
    managed_service,
)
from calisera.providers.changes import (
    record_service_change,
    utc_now,
)
from calisera.providers.models import (
    Service,
)
from calisera.providers.questions import question_rows
from calisera.providers.recurrence import InvalidRecurrence, normalize_recurrence
from calisera.providers.schemas import (
    SERVICE_FIELDS_NOT_NULL,
    ServiceCreate,
    ServicePatch,
)
from calisera.providers.views import (
    recurrence_out,
)

MAX_EVENT_AHEAD = timedelta(days=3653)

_SERVICE_COLUMNS = (
    "name",
    "description",
    "duration_minutes",
    "capacity",
    "slot_interval_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "min_notice_minutes",
    "booking_window_days",
    "max_bookings_per_day",
    "max_bookings_per_week",
    "max_open_bookings_per_customer",
    "min_gap_minutes_per_customer",
    "cancellation_notice_minutes",
    "reschedule_notice_minutes",
    "requires_confirmation",
    "confirmation_timeout_minutes",
    "price_text",
    "starts_at",
    "active",
    "questions",
)
_SERVICE_DEFAULTS: dict[str, Any] = {
    "capacity": 1,
    "buffer_before_minutes": 0,
    "buffer_after_minutes": 0,
    "min_notice_minutes": 60,
    "booking_window_days": 60,
    "cancellation_notice_minutes": 0,
    "requires_confirmation": False,
    "confirmation_timeout_minutes": 1440,
    "active": True,
    "questions": (),
}
_NOT_NULL_SERVICE_FIELDS = SERVICE_FIELDS_NOT_NULL


def _service_values(
    kind: str, fields: dict[str, Any], *, check_start_future: bool
) -> dict[str, Any]:
    """Cross-field rules of one service kind over the merged field values.

    Returns the column values to store; raises :class:`InvalidInput` listing every field
    at fault.
    """
    errors: list[FieldError] = []
    values = {k: fields.get(k) for k in _SERVICE_COLUMNS}
    for k, default in _SERVICE_DEFAULTS.items():
        if values[k] is None:
            values[k] = default
    location = fields.get("location")
    values["location"] = (
        location.model_dump(mode="json") if isinstance(location, BaseModel) else location
    )
    if values["starts_at"] is not None:
        values["starts_at"] = values["starts_at"].astimezone(UTC)
    values["questions"] = question_rows(values["questions"] or (), errors)
    rec = fields.get("recurrence")

    def only_for(field: str, kinds: str) -> None:
        errors.append(FieldError(field, f"only for {kinds} services"))

    if kind == "simple":
        if values["capacity"] != 1:
            errors.append(FieldError("capacity", "must be 1 for simple services (one customer)"))
        if values["starts_at"] is not None:
            only_for("starts_at", "event")
        if rec is not None:
            only_for("recurrence", "class")
    else:
        if values["slot_interval_minutes"] is not None:
            only_for("slot_interval_minutes", "simple")
    if kind == "event":
        if values["starts_at"] is None:
            errors.append(FieldError("starts_at", "required for event services"))
        elif check_start_future and values["starts_at"] <= utc_now():
            errors.append(FieldError("starts_at", "must be in the future"))
        elif values["starts_at"] > utc_now() + MAX_EVENT_AHEAD:
            errors.append(FieldError("starts_at", "must be within ten years from now"))
        if rec is not None:
            only_for("recurrence", "class")
    if kind == "class":
        if values["starts_at"] is not None:
            only_for("starts_at", "event")
        if rec is None:
            errors.append(FieldError("recurrence", "required for class services"))
        else:
            try:
                normalized = normalize_recurrence(
                    rec.rrule, rec.start_time, rec.starts_on, rec.until
                )
            except InvalidRecurrence as exc:
                errors.append(exc.error)
            else:
                values.update(
                    rrule=normalized.rrule,
                    start_time=rec.start_time,
                    starts_on=rec.starts_on,
                    until=normalized.until,
                    exdates=sorted(set(rec.exdates)),
                )
    if kind != "class":
        values.update(rrule=None, start_time=None, starts_on=None, until=None, exdates=[])
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise InvalidInput(detail, errors=errors)
    return values


async def create_service(
    session: AsyncSession, provider_id: uuid.UUID, data: ServiceCreate, principal: Principal
) -> Service:
    await lock_provider(session, provider_id)  # orders this change with bookings
    p = await managed_provider(session, provider_id, principal)
    fields = {
        k: getattr(data, k) for k in data.model_fields_set | {"name", "kind", "duration_minutes"}
    }
    values = _service_values(data.kind, fields, check_start_future=True)
    now = utc_now()
    s = Service(
        id=uuid.uuid4(),
        provider_id=p.id,
        kind=data.kind,
        version=1,
        created_at=now,
        updated_at=now,
        archived_at=None if values["active"] else now,
        **values,
    )
    session.add(s)
    await record_service_change(session, events.SERVICE_CREATED, s)
    return s


async def list_services(
    session: AsyncSession,
    provider_id: uuid.UUID,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Service], str | None]:
    """Every service of the provider, archived ones included (``active: false``)."""
    p = await managed_provider(session, provider_id, principal)
    order = (Service.created_at, Service.id)
    query = (
        sa.select(Service)
        .where(Service.provider_id == p.id, after_cursor(order, cursor))
        .order_by(*order)
        .limit(limit + 1)
    )
    rows = (await session.scalars(query)).all()
    return page_of(rows, limit, lambda s: (s.created_at, s.id))


def _current_fields(s: Service) -> dict[str, Any]:
    fields: dict[str, Any] = {k: getattr(s, k) for k in _SERVICE_COLUMNS}
    fields["location"] = s.location
    rec = recurrence_out(s)
    fields["recurrence"] = rec
    return fields


async def update_service(
    session: AsyncSession,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    patch: ServicePatch,
    principal: Principal,
) -> Service:
    await lock_provider(session, provider_id)  # orders this change with bookings
    s = await managed_service(session, provider_id, service_id, principal, lock=True)
    sent = patch.model_fields_set
    if "kind" in sent and patch.kind != s.kind:
        raise InvalidInput.field("kind", "cannot change; create a new service instead")
    for name in _NOT_NULL_SERVICE_FIELDS:
        if name in sent and getattr(patch, name) is None:
            raise InvalidInput.field(name, "cannot be null")
    merged = _current_fields(s)
    for name in sent - {"kind"}:
        merged[name] = getattr(patch, name)
    start_changed = "starts_at" in sent and patch.starts_at != s.starts_at
    values = _service_values(s.kind, merged, check_start_future=start_changed)
    changed = sorted(k for k, v in values.items() if getattr(s, k) != v)
    if not changed:
        return s
    archiving = "active" in changed and not values["active"]
    for k in changed:
        setattr(s, k, values[k])
    if "active" in changed:
        s.archived_at = None if s.active else utc_now()
    s.version += 1
    s.updated_at = utc_now()
    type_ = events.SERVICE_ARCHIVED if archiving else events.SERVICE_UPDATED
    await record_service_change(session, type_, s, changed=changed)
    return s


async def archive_service(
    session: AsyncSession, provider_id: uuid.UUID, service_id: uuid.UUID, principal: Principal
) -> Service:
    """Archive (soft-delete): no new bookings, existing ones stay. Repeating is harmless."""
    await lock_provider(session, provider_id)  # orders this change with bookings
    s = await managed_service(session, provider_id, service_id, principal, lock=True)
    if not s.active:
        return s
    s.active = False
    s.archived_at = utc_now()
    s.version += 1
    s.updated_at = s.archived_at
    await record_service_change(session, events.SERVICE_ARCHIVED, s)
    return s
