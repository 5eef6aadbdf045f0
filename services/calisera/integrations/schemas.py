"""Request and response models of the integrations API (the contract's types)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from calisera.core.text import SingleLine
from calisera.core.values import Flag

WebhookEventType = Literal[
    "booking.created",
    "booking.cancelled",
    "booking.rescheduled",
    "booking.completed",
    "booking.no_show",
]
WEBHOOK_EVENT_TYPES: tuple[str, ...] = WebhookEventType.__args__  # type: ignore[attr-defined]
MAX_ENDPOINTS_PER_PROVIDER = 20


_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_SPACE = r"\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
r"""Control characters and every character some regex engine calls whitespace, spelled
out: ``\s`` differs between ECMA-262 (the schema's readers) and the server's engine."""
URL_PATTERN = rf"^https?://[A-Za-z0-9.-]*[A-Za-z0-9](:{_PORT})?([/?][^#{_SPACE}]*)?$"
"""http(s), a host name or IPv4 address, an optional port, a path and query; no user
info, no fragment, no whitespace or control characters. Stated in the OpenAPI document
so that every URL the schema allows is one the service accepts."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


HttpUrl = Annotated[
    str,
    StringConstraints(max_length=2000, pattern=URL_PATTERN),
    AfterValidator(_http_url),
]


class WebhookEndpointIn(BaseModel):
    model_config = {"extra": "forbid"}

    url: HttpUrl = Field(description="Where deliveries are POSTed (http or https).")
    event_types: list[WebhookEventType] = Field(
        min_length=1, max_length=len(WEBHOOK_EVENT_TYPES), description="Event types to send."
    )
    description: Annotated[str, SingleLine(200)] | None = None


class WebhookEndpointPatch(BaseModel):
    model_config = {"extra": "forbid"}

    url: HttpUrl | None = None
    event_types: list[WebhookEventType] | None = Field(
        default=None, min_length=1, max_length=len(WEBHOOK_EVENT_TYPES)
    )
    description: Annotated[str, SingleLine(200)] | None = None
    enabled: Flag | None = Field(
        default=None, description="Switch the endpoint on again after it was disabled."
    )


class WebhookEndpointOut(BaseModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(
        description="The signing secret (`whsec_...`, Standard Webhooks). Shown only in this "
        "answer: store it now, it is never returned again."
    )


class WebhookEndpointPage(BaseModel):
    items: list[WebhookEndpointOut]
    next_cursor: str | None = None


class WebhookAttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status; null if none.")
    latency_ms: int
    response_excerpt: str | None = Field(description="The first 500 characters of the answer.")
    error: str | None


class WebhookDeliveryOut(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID = Field(description="Also the `webhook-id` header: stable on retries.")
    event_type: str
    status: Literal["pending", "sending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_latency_ms: int | None
    last_response_excerpt: str | None
    last_error: str | None
    created_at: datetime
    attempt_log: list[WebhookAttemptOut] = Field(description="Newest first, at most 20.")


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDeliveryOut]
    next_cursor: str | None = None


class FeedOut(BaseModel):
    active: bool
    created_at: datetime | None = None
    url: str | None = Field(
        default=None,
        description="The private feed URL: only in the answer that created it (the token is "
        "kept hashed). Creating a new one revokes the old.",
    )


class CalDavConnectionIn(BaseModel):
    model_config = {"extra": "forbid"}

    url: HttpUrl = Field(description="The calendar collection's URL.")
    username: Annotated[str, SingleLine(200, min_length=1)]
    password: Annotated[str, SingleLine(500, min_length=1)] = Field(
        description="An app password; stored encrypted, never returned."
    )


class CalDavConnectionOut(BaseModel):
    url: str
    username: str
    status: Literal["pending", "synced", "not_synced"] = Field(
        description="`not_synced`: the last read or write failed (see `last_error`); "
        "bookings go on regardless."
    )
    last_sync_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    busy_intervals: int = Field(description="Busy intervals read at the last sync.")
    pending_writes: int = Field(description="Bookings not yet written to the calendar.")


class ExternalInterval(BaseModel):
    start: datetime
    end: datetime


class ExternalBusy(BaseModel):
    """Busy time of the provider's connected calendars overlapping ``[start, end)``."""

    provider_id: uuid.UUID
    intervals: list[ExternalInterval]
    synced: bool = Field(description="False when the last read failed (the time may be old).")
