"""How rows are shown: the owner's full records, the public profile's services, the
scheduling view, and the public URLs of a provider (booking page, QR code)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from calisera.core.settings import Settings
from calisera.providers.models import (
    Provider,
    Service,
)
from calisera.providers.schemas import (
    BookingPageOut,
    ContactOut,
    DirectoryEntry,
    ProviderOut,
    PublicProfile,
    PublicService,
    RecurrenceOut,
    ServiceOut,
    ServiceScheduleOut,
)


def booking_url(settings: Settings, slug: str) -> str:
    return f"{settings.public_url.rstrip('/')}/p/{slug}"


def qr_code_url(settings: Settings, provider_id: uuid.UUID) -> str:
    return f"{settings.public_url.rstrip('/')}/api/v1/providers/{provider_id}/qr-code"


def _profile(p: Provider, settings: Settings) -> dict[str, Any]:
    """What the owner's record and the public profile both show of a provider."""
    return {
        "id": p.id,
        "slug": p.slug,
        "name": p.name,
        "timezone": p.timezone,
        "locale": p.locale,
        "bio": p.bio,
        "photo_url": p.photo_url,
        "logo_url": p.logo_url,
        "contact": ContactOut(email=p.contact_email, phone=p.contact_phone),
        "suspended": p.suspended,
        "booking_url": booking_url(settings, p.slug),
        "qr_code_url": qr_code_url(settings, p.id),
    }


def public_profile_out(
    p: Provider, settings: Settings, services: Sequence[Service]
) -> PublicProfile:
    return PublicProfile(
        **_profile(p, settings),
        accent_color=p.accent_color,
        welcome_text=p.welcome_text,
        address=p.address,
        policy_text=p.policy_text,
        services=[public_service(s) for s in services],
    )


def directory_entry(p: Provider, settings: Settings) -> DirectoryEntry:
    return DirectoryEntry(
        slug=p.slug,
        name=p.name,
        bio=p.bio,
        photo_url=p.photo_url,
        logo_url=p.logo_url,
        accent_color=p.accent_color,
        categories=list(p.categories or []),
        city=p.city,
        area=p.area,
        languages=list(p.languages or []),
        booking_url=booking_url(settings, p.slug),
    )


def provider_out(p: Provider, settings: Settings) -> ProviderOut:
    return ProviderOut(
        **_profile(p, settings),
        booking_page=BookingPageOut(
            accent_color=p.accent_color,
            welcome_text=p.welcome_text,
            address=p.address,
            policy_text=p.policy_text,
            shown_service_ids=list(p.shown_service_ids)
            if p.shown_service_ids is not None
            else None,
        ),
        owner_email=p.owner_email,
        owner_subject=p.owner_subject,
        listed=p.listed,
        categories=list(p.categories or []),
        city=p.city,
        area=p.area,
        languages=list(p.languages or []),
        version=p.version,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def recurrence_out(s: Service) -> RecurrenceOut | None:
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
    return model.model_validate({**fields, "recurrence": recurrence_out(s), **overrides})


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
