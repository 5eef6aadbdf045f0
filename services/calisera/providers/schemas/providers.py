"""Providers: the profile a provider creates and edits, its public page, the directory."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from calisera.core.pagination import Page
from calisera.core.text import MultiLine, SingleLine
from calisera.core.values import Flag
from calisera.providers.fields import (
    SERVICE_CATEGORIES,
    AccentColor,
    Categories,
    Email,
    Languages,
    Locale,
    Name,
    Phone,
    Place,
    Slug,
    Text,
    TimeZoneName,
    Url,
)
from calisera.providers.schemas.inputs import Input, not_nullable
from calisera.providers.schemas.services import PublicService

PROVIDER_FIELDS_NOT_NULL = (
    "slug",
    "name",
    "timezone",
    "owner_email",
    "locale",
    "suspended",
    "listed",
    "categories",
    "languages",
)


class Contact(Input):
    email: Email | None = None
    phone: Phone | None = None


class BookingPage(Input):
    """How the public booking page looks; ``shown_service_ids`` null = every active service."""

    accent_color: AccentColor | None = None
    welcome_text: Annotated[str, MultiLine(2000)] | None = None
    address: Annotated[str, SingleLine(300)] | None = Field(
        default=None, description="Where customers come to (shown with a map link)."
    )
    policy_text: Annotated[str, MultiLine(5000)] | None = Field(
        default=None, description="House rules customers read before they book."
    )
    shown_service_ids: list[uuid.UUID] | None = Field(default=None, max_length=200)


class ProviderCreate(Input):
    slug: Slug
    name: Name
    timezone: TimeZoneName
    owner_email: Email | None = None
    """Required for the admin; a signed-in user may omit it (it defaults to their e-mail)."""
    bio: Text | None = None
    photo_url: Url | None = None
    logo_url: Url | None = None
    contact: Contact | None = None
    locale: Locale = "en"
    booking_page: BookingPage | None = None
    suspended: Flag = False
    listed: Flag = False
    """Shown in the public directory (``GET /api/v1/providers/search``); off by default."""
    categories: Categories = Field(default_factory=list)
    city: Place | None = None
    area: Place | None = None
    languages: Languages = Field(default_factory=list)


class ProviderPatch(Input):
    """Partial update: only the fields sent change; ``null`` clears an optional field."""

    model_config = ConfigDict(json_schema_extra=not_nullable(*PROVIDER_FIELDS_NOT_NULL))

    slug: Slug | None = None
    name: Name | None = None
    timezone: TimeZoneName | None = None
    owner_email: Email | None = None
    bio: Text | None = None
    photo_url: Url | None = None
    logo_url: Url | None = None
    contact: Contact | None = None
    locale: Locale | None = None
    booking_page: BookingPage | None = None
    suspended: Flag | None = None
    listed: Flag | None = None
    categories: Categories | None = None
    city: Place | None = None
    area: Place | None = None
    languages: Languages | None = None


class ContactOut(BaseModel):
    email: str | None = None
    phone: str | None = None


class BookingPageOut(BaseModel):
    accent_color: str | None = None
    welcome_text: str | None = None
    address: str | None = None
    policy_text: str | None = None
    shown_service_ids: list[uuid.UUID] | None = None


class ProviderOut(BaseModel):
    """The full record, for the owner and the admin."""

    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    locale: str
    bio: str | None
    photo_url: str | None
    logo_url: str | None
    contact: ContactOut
    booking_page: BookingPageOut
    owner_email: str
    owner_subject: str | None
    """The owner's user id when they created the provider themselves (admin-created
    providers are owned by e-mail until then)."""
    suspended: bool
    listed: bool
    categories: list[str]
    city: str | None
    area: str | None
    languages: list[str]
    booking_url: str
    qr_code_url: str
    version: int
    created_at: datetime
    updated_at: datetime


class ProviderList(Page[ProviderOut]):
    """Providers the caller may manage, oldest first."""


class DirectoryEntry(BaseModel):
    """A listed provider as the public directory shows it: only what the provider put
    on their page for everyone (no contact, owner, time zone or ids)."""

    slug: str
    name: str
    bio: str | None
    photo_url: str | None
    logo_url: str | None
    accent_color: str | None
    categories: list[str]
    city: str | None
    area: str | None
    languages: list[str]
    booking_url: str


class DirectoryPage(Page[DirectoryEntry]):
    """Listed providers: best match first with ``q``, else by name."""


class ServiceCategory(BaseModel):
    slug: str
    label: str


CATEGORY_LIST = [ServiceCategory(slug=k, label=v) for k, v in SERVICE_CATEGORIES.items()]
"""The fixed categories a provider picks from (``GET /api/v1/providers/categories``)."""


class PublicProfile(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    locale: str
    bio: str | None
    photo_url: str | None
    logo_url: str | None
    contact: ContactOut
    accent_color: str | None
    welcome_text: str | None
    address: str | None = None
    policy_text: str | None = None
    booking_url: str
    qr_code_url: str
    suspended: bool
    services: list[PublicService]
