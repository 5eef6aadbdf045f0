"""Provider profiles: create, list, change, delete, and the public booking page's data.
Functions take the caller's session and never commit."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.auth import Principal
from calisera.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from calisera.core.locks import lock_provider
from calisera.core.pagination import after_cursor, page_of
from calisera.core.settings import Settings
from calisera.providers import events
from calisera.providers.access import (
    managed_provider,
    may_manage,
)
from calisera.providers.changes import (
    provider_event_data,
    record_change,
    record_provider_change,
    utc_now,
)
from calisera.providers.fields import SLUG_PATTERN
from calisera.providers.models import (
    Provider,
    Service,
)
from calisera.providers.schemas import (
    PROVIDER_FIELDS_NOT_NULL,
    ProviderCreate,
    ProviderPatch,
    PublicProfile,
)
from calisera.providers.views import (
    public_profile_out,
)


class SlugTaken(Conflict):
    slug, title = "slug-taken", "The slug is taken"


async def _flush_unless_slug_taken(session: AsyncSession, slug: str) -> None:
    """Flush the provider row; the unique index on ``slug`` answers 409 ``slug-taken``."""
    try:
        await session.flush()
    except IntegrityError as exc:
        diag = getattr(exc.orig, "diag", None)
        constraint = str(getattr(diag, "constraint_name", "") or "")
        if getattr(exc.orig, "sqlstate", None) == "23505" and "slug" in constraint:
            raise SlugTaken(f"The slug '{slug}' is taken.") from exc
        raise


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
    now = utc_now()
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
        address=data.booking_page.address if data.booking_page else None,
        policy_text=data.booking_page.policy_text if data.booking_page else None,
        shown_service_ids=[] if page and page.shown_service_ids == [] else None,
        owner_email=owner_email.lower(),
        owner_subject=owner_subject,
        suspended=data.suspended,
        listed=data.listed,
        categories=list(data.categories),
        city=data.city,
        area=data.area,
        languages=list(data.languages),
        version=1,
        schedule_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(p)
    await _flush_unless_slug_taken(session, p.slug)
    await record_provider_change(session, events.PROVIDER_CREATED, p, settings)
    return p


async def list_providers(
    session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[Provider], str | None]:
    principal.require_authenticated()
    order = (Provider.created_at, Provider.id)
    query = sa.select(Provider).where(after_cursor(order, cursor)).order_by(*order)
    if not principal.is_admin:
        owned = sa.func.lower(Provider.owner_email) == (principal.email or "").lower()
        if principal.subject:
            owned = sa.or_(owned, Provider.owner_subject == principal.subject)
        query = query.where(owned)
    rows = (await session.scalars(query.limit(limit + 1))).all()
    return page_of(rows, limit, lambda p: (p.created_at, p.id))


def _owner_only_changes(principal: Principal, patch: ProviderPatch) -> None:
    if principal.is_admin:
        return
    if "suspended" in patch.model_fields_set:
        raise Forbidden("Only the platform admin may suspend or reinstate a provider.")
    if "owner_email" in patch.model_fields_set:
        raise Forbidden("Only the platform admin may transfer a provider to another owner.")


_REQUIRED_PROVIDER_FIELDS = PROVIDER_FIELDS_NOT_NULL


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
    simple = ("slug", "name", "timezone", "locale", "bio", "suspended", "listed", "city", "area")
    for name in simple:
        if name in fields:
            changes[name] = getattr(patch, name)
    for name in ("photo_url", "logo_url"):
        if name in fields:
            value = getattr(patch, name)
            changes[name] = str(value) if value is not None else None
    for name in ("categories", "languages"):
        if name in fields and getattr(patch, name) is not None:
            changes[name] = list(getattr(patch, name))
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
            changes.update(
                accent_color=None,
                welcome_text=None,
                address=None,
                policy_text=None,
                shown_service_ids=None,
            )
        else:
            for name in ("accent_color", "welcome_text", "address", "policy_text"):
                if name in page.model_fields_set:
                    changes[name] = getattr(page, name)
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
    p.updated_at = utc_now()
    await _flush_unless_slug_taken(session, p.slug)
    await record_provider_change(session, events.PROVIDER_UPDATED, p, settings, changed=changed)
    return p


async def delete_provider(
    session: AsyncSession, provider_id: uuid.UUID, principal: Principal, settings: Settings
) -> None:
    """Remove a provider with its services and availability (platform admin only: the
    operator's ``Delete`` policy). Bookings live in the bookings service and stay; the
    ``provider.deleted`` event tells consumers. Owners cannot delete; they ask the
    platform (or the admin suspends instead, which keeps everything). Anyone else's
    provider is a 404 (as everywhere), so only its owner learns it exists."""
    if not principal.is_admin:
        await managed_provider(session, provider_id, principal)
    principal.require_admin()
    await lock_provider(session, provider_id)  # orders this change with bookings
    p = await session.get(Provider, provider_id, with_for_update=True)
    if p is None:
        raise NotFound(f"No provider {provider_id}.")
    data = provider_event_data(p, settings)
    version = p.version + 1
    await session.delete(p)
    await session.flush()
    await record_change(
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
    slug = slug.strip().lower()
    p = None
    if re.fullmatch(SLUG_PATTERN, slug):  # anything else names no provider (nor reaches SQL)
        p = await session.scalar(sa.select(Provider).where(Provider.slug == slug))
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
    return public_profile_out(p, settings, services)
