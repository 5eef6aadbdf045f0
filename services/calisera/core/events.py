"""The event envelope every service writes to its outbox (``shared/API.md``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate
from pydantic import BaseModel, Field


class PermanentEventError(Exception):
    """A consumer can never handle this event, however often it is retried (a version
    it does not know, data that breaks the contract). The worker dead-letters the
    delivery at once with this error's text, for ``calisera dlq list`` and ``replay``."""


class UnsupportedEventVersion(PermanentEventError):
    """The event's major version is one the consumer was not written for."""


class EventEnvelope(BaseModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: str
    aggregate_id: uuid.UUID
    aggregate_version: int
    provider_id: uuid.UUID | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    traceparent: str | None = None


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, so a consumer continues the trace."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def new_event(
    type: str,
    *,
    source: str,
    aggregate_id: uuid.UUID,
    aggregate_version: int,
    provider_id: uuid.UUID | None,
    data: dict[str, Any],
) -> EventEnvelope:
    return EventEnvelope(
        type=type,
        source=source,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        provider_id=provider_id,
        data=data,
        traceparent=current_traceparent(),
    )
