"""The providers domain: profiles, the service catalog, availability, the schedule read
model. Functions take the caller's session and never commit; every change records its
event in ``providers.outbox`` in the same transaction.

Authorization lives here too, because "who may see this provider" is a domain rule:
the platform admin may do everything, an owner manages their own providers, anybody
may read a public profile. Ids of providers the caller may not see answer 404.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.auth import Principal
from calisera.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from calisera.core.events import EventData, EventType, new_event
from calisera.core.locks import lock_provider
from calisera.core.outbox import record_event
from calisera.core.settings import Settings
from calisera.providers import events
from calisera.providers.models import (
    Provider,
    Service,
    date_overrides,
    outbox,
    time_off,
    weekly_rules,
)
from calisera.providers.recurrence import InvalidRecurrence, normalize_recurrence
from calisera.providers.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    BookingPageOut,
    ContactOut,
    ProviderCreate,
    ProviderOut,
    ProviderPatch,
    PublicProfile,
    PublicService,
    RecurrenceOut,
    ScheduleConfig,
    ServiceCreate,
    ServiceOut,
    ServicePatch,
    ServiceScheduleOut,
)

D = TypeVar("D", bound=EventData)


DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_EVENT_AHEAD = timedelta(days=3653)


class SlugTaken(Conflict):
    slug, title = "slug-taken", "The slug is taken"


# --- URLs -------------------------------------------------------------------------


def booking_url(settings: Settings, slug: str) -> str:
    return f"{settings.public_url.rstrip('/')}/p/{slug}"


def qr_code_url(settings: Settings, provider_id: uuid.UUID) -> str:
    return f"{settings.public_url.rstrip('/')}/api/v1/providers/{provider_id}/qr-code"


# --- cursors ----------------------------------------------------------------------


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        return datetime.fromisoformat(created), uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput.field("cursor", "not a cursor this list returned") from exc


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.field("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


# --- shaping ----------------------------------------------------------------------


def provider_out(p: Provider, settings: Settings) -> ProviderOut:
    return ProviderOut(
        id=p.id,
        slug=p.slug,
        name=p.name,
        timezone=p.timezone,
        locale=p.locale,
        bio=p.bio,
        photo_url=p.photo_url,
        logo_url=p.logo_url,
        contact=ContactOut(email=p.contact_email, phone=p.contact_phone),
        booking_page=BookingPageOut(
            accent_color=p.accent_color,
            welcome_text=p.welcome_text,
            shown_service_ids=list(p.shown_service_ids)
            if p.shown_service_ids is not None
            else None,
        ),
        owner_email=p.owner_email,
        owner_subject=p.owner_subject,
        suspended=p.suspended,
        booking_url=booking_url(settings, p.slug),
        qr_code_url=qr_code_url(settings, p.id),
        version=p.version,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _recurrence_out(s: Service) -> RecurrenceOut | None:
    if s.kind != "class" or s.rrule is None or s.start_time is None or s.starts_on is None:
        return None
    return RecurrenceOut(
        rrule=s.rrule,
        start_time=s.start_time,
        starts_on=s.starts_on,
        until=s.until,
        exdates=sorted(s.exdates or []),
    )


_View = TypeVar("_View", bound=BaseModel)


def _from_service(model: type[_View], s: Service, **overrides: Any) -> _View:
    """``model`` filled from the service row's same-named columns (one mapping for the
    owner's, the public and the scheduling views), recurrence assembled from its parts."""
    columns = Service.__table__.columns.keys()
    fields = {name: getattr(s, name) for name in model.model_fields if name in columns}
    return model.model_validate({**fields, "recurrence": _recurrence_out(s), **overrides})


def service_out(s: Service) -> ServiceOut:
    return _from_service(ServiceOut, s)


def public_location(location: dict[str, Any] | None) -> dict[str, Any] | None:
    """Addresses are public; meeting links and call-in numbers come with the booking."""
    if location is None:
        return None
    if location.get("type") == "in_person":
        return {"type": "in_person", "address": location.get("address")}
    return {"type": location.get("type")}


def public_service(s: Service) -> PublicService:
    return _from_service(PublicService, s, location=public_location(s.location))


def schedule_service(s: Service) -> ServiceScheduleOut:
    return _from_service(ServiceScheduleOut, s)


# --- events -----------------------------------------------------------------------


def _provider_event_data(p: Provider, settings: Settings, **extra: Any) -> events.ProviderData:
    return events.ProviderData.model_validate({**provider_out(p, settings).model_dump(), **extra})


def _service_event_data(s: Service, **extra: Any) -> events.ServiceData:
    return events.ServiceData.model_validate({**service_out(s).model_dump(), **extra})


async def _emit(
    session: AsyncSession,
    type_: EventType[D],
    *,
    aggregate_id: uuid.UUID,
    aggregate_version: int,
    provider_id: uuid.UUID,
    data: D,
) -> None:
    event = new_event(
        type_,
        source=events.SOURCE,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        provider_id=provider_id,
        data=data,
    )
    await record_event(session, outbox, event)


async def _bump_schedule(session: AsyncSession, provider_id: uuid.UUID) -> None:
    """Any change of a provider's services moves its schedule version (and takes the
    provider row lock, which serialises concurrent catalog changes of one provider)."""
    await session.execute(
        sa.update(Provider)
        .where(Provider.id == provider_id)
        .values(schedule_version=Provider.schedule_version + 1)
    )


def _now() -> datetime:
    return datetime.now(UTC)


# --- access -----------------------------------------------------------------------


def may_manage(principal: Principal, p: Provider) -> bool:
    return principal.is_admin or principal.owns(p.owner_email, p.owner_subject)


async def managed_provider(
    session: AsyncSession, provider_id: uuid.UUID, principal: Principal, *, lock: bool = False
) -> Provider:
    """The provider if the caller may manage it; 401 anonymous, 404 for anyone else."""
    principal.require_authenticated()
    p = await session.get(Provider, provider_id, with_for_update=lock or None)
    if p is None or not may_manage(principal, p):
        raise NotFound(f"No provider {provider_id}.")
    return p


def _slug_taken(exc: IntegrityError) -> bool:
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    return getattr(orig, "sqlstate", None) == "23505" and "slug" in str(
        getattr(diag, "constraint_name", "") or ""
    )


# --- providers --------------------------------------------------------------------


async def create_provider(
    session: AsyncSession, data: ProviderCreate, principal: Principal, settings: Settings
) -> Provider:
    principal.require_authenticated()
    owner_email = str(data.owner_email) if data.owner_email else None
    owner_subject = None
    if not principal.is_admin:
        if owner_email is None:
            owner_email = principal.email
        if not owner_email or not principal.owns(owner_email):
            raise Forbidden("owner_email must be your own e-mail address.")
        owner_subject = principal.subject
        if data.suspended:
            raise Forbidden("Only the platform admin may suspend a provider.")
    if owner_email is None:
        raise InvalidInput.field("owner_email", "required")
    page = data.booking_page
    if page and page.shown_service_ids:
        raise InvalidInput.field(
            "booking_page.shown_service_ids", "a new provider has no services yet"
        )
    now = _now()
    p = Provider(
        id=uuid.uuid4(),
        slug=data.slug,
        name=data.name,
        timezone=data.timezone,
        locale=data.locale,
        bio=data.bio,
        photo_url=str(data.photo_url) if data.photo_url else None,
        logo_url=str(data.logo_url) if data.logo_url else None,
        contact_email=str(data.contact.email) if data.contact and data.contact.email else None,
        contact_phone=data.contact.phone if data.contact else None,
        accent_color=data.booking_page.accent_color if data.booking_page else None,
        welcome_text=data.booking_page.welcome_text if data.booking_page else None,
        shown_service_ids=[] if page and page.shown_service_ids == [] else None,
        owner_email=owner_email.lower(),
        owner_subject=owner_subject,
        suspended=data.suspended,
        version=1,
        schedule_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(p)
    try:
        await session.flush()
    except IntegrityError as exc:
        if _slug_taken(exc):
            raise SlugTaken(f"The slug '{data.slug}' is taken.") from exc
        raise
    await _emit(
        session,
        events.PROVIDER_CREATED,
        aggregate_id=p.id,
        aggregate_version=p.version,
        provider_id=p.id,
        data=_provider_event_data(p, settings),
    )
    return p


async def list_providers(
    session: AsyncSession, principal: Principal, *, limit: int | None, cursor: str | None
) -> tuple[list[Provider], str | None]:
    principal.require_authenticated()
    n = check_limit(limit)
    query = sa.select(Provider).order_by(Provider.created_at, Provider.id).limit(n + 1)
    if not principal.is_admin:
        owned = sa.func.lower(Provider.owner_email) == (principal.email or "").lower()
        if principal.subject:
            owned = sa.or_(owned, Provider.owner_subject == principal.subject)
        query = query.where(owned)
    if cursor:
        created, last_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(Provider.created_at, Provider.id) > (created, last_id))
    rows = list((await session.scalars(query)).all())
    next_cursor = None
    if len(rows) > n:
        rows = rows[:n]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, next_cursor


def _owner_only_changes(principal: Principal, patch: ProviderPatch) -> None:
    if principal.is_admin:
        return
    if "suspended" in patch.model_fields_set:
        raise Forbidden("Only the platform admin may suspend or reinstate a provider.")
    if "owner_email" in patch.model_fields_set:
        raise Forbidden("Only the platform admin may transfer a provider to another owner.")


_REQUIRED_PROVIDER_FIELDS = ("slug", "name", "timezone", "owner_email", "locale", "suspended")


async def _check_shown_services(
    session: AsyncSession, provider_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> None:
    found = set(
        (
            await session.scalars(
                sa.select(Service.id).where(
                    Service.provider_id == provider_id, Service.id.in_(list(ids))
                )
            )
        ).all()
    )
    for i, sid in enumerate(ids):
        if sid not in found:
            raise InvalidInput.field(
                f"booking_page.shown_service_ids[{i}]", f"no service {sid} of this provider"
            )


async def update_provider(
    session: AsyncSession,
    provider_id: uuid.UUID,
    patch: ProviderPatch,
    principal: Principal,
    settings: Settings,
) -> Provider:
    """Partial update. Changing ``timezone`` keeps the wall-clock hours as they are;
    a request that changes nothing records no event."""
    await lock_provider(session, provider_id)  # orders this change with bookings
    p = await managed_provider(session, provider_id, principal, lock=True)
    _owner_only_changes(principal, patch)
    fields = patch.model_fields_set
    for name in _REQUIRED_PROVIDER_FIELDS:
        if name in fields and getattr(patch, name) is None:
            raise InvalidInput.field(name, "cannot be null")
    changes: dict[str, Any] = {}
    simple = ("slug", "name", "timezone", "locale", "bio", "suspended")
    for name in simple:
        if name in fields:
            changes[name] = getattr(patch, name)
    for name in ("photo_url", "logo_url"):
        if name in fields:
            value = getattr(patch, name)
            changes[name] = str(value) if value is not None else None
    if "owner_email" in fields and patch.owner_email is not None:
        changes["owner_email"] = str(patch.owner_email).lower()
        if changes["owner_email"] != p.owner_email:
            changes["owner_subject"] = None
    if "contact" in fields:
        contact = patch.contact
        if contact is None:
            changes["contact_email"] = changes["contact_phone"] = None
        else:
            if "email" in contact.model_fields_set:
                changes["contact_email"] = str(contact.email) if contact.email else None
            if "phone" in contact.model_fields_set:
                changes["contact_phone"] = contact.phone
    if "booking_page" in fields:
        page = patch.booking_page
        if page is None:
            changes.update(accent_color=None, welcome_text=None, shown_service_ids=None)
        else:
            if "accent_color" in page.model_fields_set:
                changes["accent_color"] = page.accent_color
            if "welcome_text" in page.model_fields_set:
                changes["welcome_text"] = page.welcome_text
            if "shown_service_ids" in page.model_fields_set:
                ids = page.shown_service_ids
                if ids is not None:
                    await _check_shown_services(session, p.id, ids)
                    ids = list(dict.fromkeys(ids))
                changes["shown_service_ids"] = ids
    changed = sorted(k for k, v in changes.items() if getattr(p, k) != v)
    if not changed:
        return p
    for k in changed:
        setattr(p, k, changes[k])
    p.version += 1
    p.schedule_version += 1
    p.updated_at = _now()
    try:
        await session.flush()
    except IntegrityError as exc:
        if _slug_taken(exc):
            raise SlugTaken(f"The slug '{changes['slug']}' is taken.") from exc
        raise
    data = _provider_event_data(p, settings, changed=changed)
    await _emit(
        session,
        events.PROVIDER_UPDATED,
        aggregate_id=p.id,
        aggregate_version=p.version,
        provider_id=p.id,
        data=data,
    )
    return p


async def delete_provider(
    session: AsyncSession, provider_id: uuid.UUID, principal: Principal, settings: Settings
) -> None:
    """Remove a provider with its services and availability (platform admin only: the
    operator's ``Delete`` policy). Bookings live in the bookings service and stay; the
    ``provider.deleted`` event tells consumers. Owners cannot delete; they ask the
    platform (or the admin suspends instead, which keeps everything)."""
    principal.require_admin()
    await lock_provider(session, provider_id)  # orders this change with bookings
    p = await session.get(Provider, provider_id, with_for_update=True)
    if p is None:
        raise NotFound(f"No provider {provider_id}.")
    data = _provider_event_data(p, settings)
    version = p.version + 1
    await session.delete(p)
    await session.flush()
    await _emit(
        session,
        events.PROVIDER_DELETED,
        aggregate_id=provider_id,
        aggregate_version=version,
        provider_id=provider_id,
        data=data,
    )


async def public_profile(
    session: AsyncSession, slug: str, principal: Principal, settings: Settings
) -> PublicProfile:
    """The booking page's data; suspended providers are hidden except from owner/admin."""
    p = await session.scalar(sa.select(Provider).where(Provider.slug == slug.lower()))
    if p is None or (p.suspended and not may_manage(principal, p)):
        raise NotFound(f"No provider '{slug}'.")
    query = (
        sa.select(Service)
        .where(Service.provider_id == p.id, Service.active)
        .order_by(Service.created_at, Service.id)
    )
    if p.shown_service_ids is not None:
        query = query.where(Service.id.in_(list(p.shown_service_ids)))
    services = (await session.scalars(query)).all()
    return PublicProfile(
        id=p.id,
        slug=p.slug,
        name=p.name,
        timezone=p.timezone,
        locale=p.locale,
        bio=p.bio,
        photo_url=p.photo_url,
        logo_url=p.logo_url,
        contact=ContactOut(email=p.contact_email, phone=p.contact_phone),
        accent_color=p.accent_color,
        welcome_text=p.welcome_text,
        booking_url=booking_url(settings, p.slug),
        qr_code_url=qr_code_url(settings, p.id),
        suspended=p.suspended,
        services=[public_service(s) for s in services],
    )


async def visible_provider(
    session: AsyncSession, provider_id: uuid.UUID, principal: Principal
) -> Provider:
    """A provider whose public artefacts (QR code) the caller may see."""
    p = await session.get(Provider, provider_id)
    if p is None or (p.suspended and not may_manage(principal, p)):
        raise NotFound(f"No provider {provider_id}.")
    return p


# --- services ---------------------------------------------------------------------

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
    "cancellation_notice_minutes",
    "price_text",
    "starts_at",
    "active",
)
_SERVICE_DEFAULTS: dict[str, Any] = {
    "capacity": 1,
    "buffer_before_minutes": 0,
    "buffer_after_minutes": 0,
    "min_notice_minutes": 60,
    "booking_window_days": 60,
    "cancellation_notice_minutes": 0,
    "active": True,
}
_NOT_NULL_SERVICE_FIELDS = (
    "name",
    "kind",
    "duration_minutes",
    "capacity",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "min_notice_minutes",
    "booking_window_days",
    "cancellation_notice_minutes",
    "active",
)


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
        elif check_start_future and values["starts_at"] <= _now():
            errors.append(FieldError("starts_at", "must be in the future"))
        elif values["starts_at"] > _now() + MAX_EVENT_AHEAD:
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
    now = _now()
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
    await session.flush()
    await _bump_schedule(session, p.id)
    await _emit(
        session,
        events.SERVICE_CREATED,
        aggregate_id=s.id,
        aggregate_version=s.version,
        provider_id=p.id,
        data=_service_event_data(s),
    )
    return s


async def list_services(
    session: AsyncSession,
    provider_id: uuid.UUID,
    principal: Principal,
    *,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Service], str | None]:
    """Every service of the provider, archived ones included (``active: false``)."""
    p = await managed_provider(session, provider_id, principal)
    n = check_limit(limit)
    query = (
        sa.select(Service)
        .where(Service.provider_id == p.id)
        .order_by(Service.created_at, Service.id)
        .limit(n + 1)
    )
    if cursor:
        created, last_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(Service.created_at, Service.id) > (created, last_id))
    rows = list((await session.scalars(query)).all())
    next_cursor = None
    if len(rows) > n:
        rows = rows[:n]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, next_cursor


async def managed_service(
    session: AsyncSession,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    principal: Principal,
    *,
    lock: bool = False,
) -> Service:
    await managed_provider(session, provider_id, principal)
    s = await session.get(Service, service_id, with_for_update=lock or None)
    if s is None or s.provider_id != provider_id:
        raise NotFound(f"No service {service_id}.")
    return s


def _current_fields(s: Service) -> dict[str, Any]:
    fields: dict[str, Any] = {k: getattr(s, k) for k in _SERVICE_COLUMNS}
    fields["location"] = s.location
    rec = _recurrence_out(s)
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
        s.archived_at = None if s.active else _now()
    s.version += 1
    s.updated_at = _now()
    await session.flush()
    await _bump_schedule(session, s.provider_id)
    data = _service_event_data(s, changed=changed)
    await _emit(
        session,
        events.SERVICE_ARCHIVED if archiving else events.SERVICE_UPDATED,
        aggregate_id=s.id,
        aggregate_version=s.version,
        provider_id=s.provider_id,
        data=data,
    )
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
    s.archived_at = _now()
    s.version += 1
    s.updated_at = s.archived_at
    await session.flush()
    await _bump_schedule(session, s.provider_id)
    await _emit(
        session,
        events.SERVICE_ARCHIVED,
        aggregate_id=s.id,
        aggregate_version=s.version,
        provider_id=s.provider_id,
        data=_service_event_data(s),
    )
    return s


# --- availability -----------------------------------------------------------------


def _check_availability(data: AvailabilityIn) -> None:
    """End after start and no overlaps, each error naming its field (``weekly[2].end``)."""
    errors: list[FieldError] = []
    by_day: dict[int, list[tuple[int, Any]]] = {}
    for i, rule in enumerate(data.weekly):
        if rule.end <= rule.start:
            errors.append(FieldError(f"weekly[{i}].end", "must be after start"))
            continue
        by_day.setdefault(rule.weekday, []).append((i, rule))
    for entries in by_day.values():
        entries.sort(key=lambda e: e[1].start)
        for (_, prev), (i, cur) in itertools.pairwise(entries):
            if cur.start < prev.end:
                errors.append(
                    FieldError(f"weekly[{i}].start", "overlaps another interval of that weekday")
                )
    seen: dict[date, int] = {}
    for i, override in enumerate(data.overrides):
        if override.date in seen:
            errors.append(FieldError(f"overrides[{i}].date", "date given twice"))
        seen[override.date] = i
        valid = []
        for j, interval in enumerate(override.intervals):
            if interval.end <= interval.start:
                errors.append(
                    FieldError(f"overrides[{i}].intervals[{j}].end", "must be after start")
                )
            else:
                valid.append((j, interval))
        valid.sort(key=lambda e: e[1].start)
        for (_, prev), (j, cur) in itertools.pairwise(valid):
            if cur.start < prev.end:
                errors.append(
                    FieldError(f"overrides[{i}].intervals[{j}].start", "overlaps another interval")
                )
    for i, off in enumerate(data.time_off):
        if off.end <= off.start:
            errors.append(FieldError(f"time_off[{i}].end", "must be after start"))
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise InvalidInput(detail, errors=errors)


def _json_array(
    where: sa.ColumnElement[bool], fields: dict[str, Any], *order_by: Any
) -> sa.ScalarSelect[Any]:
    """``[{field: column, ...}, ...]`` of the matching rows as one JSON value (``[]`` if none)."""
    row = sa.func.json_build_object(*itertools.chain.from_iterable(fields.items()))
    return (
        sa.select(
            sa.func.coalesce(
                sa.func.json_agg(aggregate_order_by(row, *order_by)), sa.text("'[]'::json")
            )
        )
        .where(where)
        .scalar_subquery()
    )


def _availability_columns(provider_id: Any) -> list[sa.ScalarSelect[Any]]:
    """Weekly rules, overrides and time off as three JSON arrays: one round trip, and
    combinable with the provider row itself (the schedule read model's hot path)."""
    w, o, t = weekly_rules.c, date_overrides.c, time_off.c
    return [
        _json_array(
            w.provider_id == provider_id,
            {"weekday": w.weekday, "start": w.start, "end": w.end},
            w.weekday,
            w.start,
        ),
        _json_array(
            o.provider_id == provider_id, {"date": o.date, "intervals": o.intervals}, o.date
        ),
        _json_array(
            t.provider_id == provider_id,
            {"start": t.start, "end": t.end, "reason": t.reason},
            t.start,
            t.id,
        ),
    ]


def _availability_out(weekly: Any, overrides: Any, offs: Any) -> AvailabilityOut:
    return AvailabilityOut.model_validate(
        {"weekly": weekly, "overrides": overrides, "time_off": offs}
    )


async def _load_availability(session: AsyncSession, provider_id: uuid.UUID) -> AvailabilityOut:
    row = (await session.execute(sa.select(*_availability_columns(provider_id)))).one()
    return _availability_out(*row)


def _normalized_availability(data: AvailabilityIn) -> AvailabilityOut:
    """``data`` in the order it is read back (weekday/start, date, start)."""
    return AvailabilityOut.model_validate(
        {
            "weekly": sorted(
                (r.model_dump() for r in data.weekly), key=lambda r: (r["weekday"], r["start"])
            ),
            "overrides": sorted(
                (
                    {
                        "date": o.date,
                        "intervals": sorted(
                            (i.model_dump() for i in o.intervals), key=lambda i: i["start"]
                        ),
                    }
                    for o in data.overrides
                ),
                key=lambda o: o["date"],
            ),
            "time_off": sorted((t.model_dump() for t in data.time_off), key=lambda t: t["start"]),
        }
    )


async def get_availability(
    session: AsyncSession, provider_id: uuid.UUID, principal: Principal
) -> AvailabilityOut:
    p = await managed_provider(session, provider_id, principal)
    return await _load_availability(session, p.id)


async def put_availability(
    session: AsyncSession, provider_id: uuid.UUID, data: AvailabilityIn, principal: Principal
) -> AvailabilityOut:
    """Replace the provider's hours, overrides and time off (wall clock, as given)."""
    await lock_provider(session, provider_id)  # orders this change with bookings
    p = await managed_provider(session, provider_id, principal, lock=True)
    _check_availability(data)
    current = await _load_availability(session, p.id)
    if current == _normalized_availability(data):
        return current  # nothing changes: no write, no event, same schedule version
    for table in (weekly_rules, date_overrides, time_off):
        await session.execute(sa.delete(table).where(table.c.provider_id == p.id))
    if data.weekly:
        await session.execute(
            sa.insert(weekly_rules),
            [
                {"provider_id": p.id, "weekday": r.weekday, "start": r.start, "end": r.end}
                for r in data.weekly
            ],
        )
    if data.overrides:
        await session.execute(
            sa.insert(date_overrides),
            [
                {
                    "provider_id": p.id,
                    "date": o.date,
                    "intervals": [
                        i.model_dump(mode="json")
                        for i in sorted(o.intervals, key=lambda i: i.start)
                    ],
                }
                for o in data.overrides
            ],
        )
    if data.time_off:
        await session.execute(
            sa.insert(time_off),
            [
                {"provider_id": p.id, "start": t.start, "end": t.end, "reason": t.reason}
                for t in data.time_off
            ],
        )
    p.version += 1
    p.schedule_version += 1
    p.updated_at = _now()
    await session.flush()
    result = await _load_availability(session, p.id)
    await _emit(
        session,
        events.AVAILABILITY_UPDATED,
        aggregate_id=p.id,
        aggregate_version=p.version,
        provider_id=p.id,
        data=events.AvailabilityData(timezone=p.timezone, **result.model_dump()),
    )
    return result


# --- internal read model ----------------------------------------------------------


def schedule_etag(service_id: uuid.UUID, schedule_version: int) -> str:
    return f"{service_id.hex}-{schedule_version}"


async def schedule_version(session: AsyncSession, service_id: uuid.UUID) -> str:
    """The current version of a service's :class:`ScheduleConfig` (one indexed lookup)."""
    version = await session.scalar(
        sa.select(Provider.schedule_version)
        .join(Service, Service.provider_id == Provider.id)
        .where(Service.id == service_id)
    )
    if version is None:
        raise NotFound(f"No service {service_id}.")
    return schedule_etag(service_id, version)


async def schedule_config(session: AsyncSession, service_id: uuid.UUID) -> ScheduleConfig:
    """Everything listing and bookings need to compute one service's slots.

    Archived services are still answered (``active: false``) so bookings can apply the
    cancellation policy of existing bookings; listing offers nothing for them.
    """
    # The provider row (and so the version) comes with the availability in one snapshot;
    # the services are read after it: a change committing in between can make content
    # newer than the version, never older, so a cache keyed by the version is never stale.
    row = (
        await session.execute(
            sa.select(Provider, *_availability_columns(Provider.id))
            .join(Service, Service.provider_id == Provider.id)
            .where(Service.id == service_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"No service {service_id}.")
    p = row[0]
    availability = _availability_out(*row[1:])
    services = (
        await session.scalars(
            sa.select(Service)
            .where(
                Service.provider_id == p.id,
                sa.or_(
                    Service.id == service_id,
                    sa.and_(Service.active, Service.kind.in_(("event", "class"))),
                ),
            )
            .order_by(Service.created_at, Service.id)
        )
    ).all()
    s = next(x for x in services if x.id == service_id)
    others = [x for x in services if x.id != service_id]
    return ScheduleConfig(
        provider_id=p.id,
        provider_slug=p.slug,
        provider_name=p.name,
        provider_suspended=p.suspended,
        timezone=p.timezone,
        weekly=availability.weekly,
        overrides=availability.overrides,
        time_off=availability.time_off,
        service=schedule_service(s),
        other_services=[schedule_service(o) for o in others],
        version=schedule_etag(s.id, p.schedule_version),
    )
