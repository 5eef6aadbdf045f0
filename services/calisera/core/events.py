"""The event envelope every service writes to its outbox (``shared/API.md``), and the
typed contract of each event's ``data``.

A producing service declares its events in its ``events.py``: one :class:`EventType`
per event type, naming the pydantic model of its ``data`` (an :class:`EventData`) and
the major version of that model. Producers build envelopes with :func:`new_event` from
a model instance; consumers call :meth:`EventType.parse` and never index a raw dict.
Adding an optional field is a minor change (consumers ignore fields they do not
know); removing or retyping one is a new major version, which consumers that do not
know it refuse with :class:`UnsupportedEventVersion`: the worker dead-letters such an
event at once, where it waits, replayable, for a consumer that understands it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from opentelemetry import propagate
from pydantic import BaseModel, ConfigDict, Field, ValidationError


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


class EventData(BaseModel):
    """Base of every event's ``data`` model: unknown (newer, optional) fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


D = TypeVar("D", bound=EventData)


class PermanentEventError(Exception):
    """An event no retry can handle (wrong version, broken payload): dead-letter it now."""


class UnsupportedEventVersion(PermanentEventError):
    pass


class MalformedEvent(PermanentEventError):
    pass


@dataclass(frozen=True)
class EventType(Generic[D]):
    """One event type of the contract: its name, its ``data`` model and major version."""

    name: str
    data: type[D]
    version: int = 1

    def parse(self, envelope: EventEnvelope) -> D:
        """The typed ``data`` of ``envelope``, or a :class:`PermanentEventError`."""
        if envelope.type != self.name:
            raise MalformedEvent(f"expected a {self.name} event, got {envelope.type}")
        if envelope.version != self.version:
            raise UnsupportedEventVersion(
                f"{self.name} version {envelope.version} is not understood here "
                f"(this consumer knows version {self.version})"
            )
        try:
            return self.data.model_validate(envelope.data)
        except ValidationError as exc:
            raise MalformedEvent(f"{self.name} {envelope.id}: {exc}") from exc


def new_event(
    event_type: EventType[D],
    *,
    data: D,
    source: str,
    aggregate_id: uuid.UUID,
    aggregate_version: int,
    provider_id: uuid.UUID | None,
) -> EventEnvelope:
    """An envelope for ``data`` of ``event_type``, carrying the current trace context."""
    if not isinstance(data, event_type.data):
        raise TypeError(f"{event_type.name} carries {event_type.data.__name__}")
    return EventEnvelope(
        type=event_type.name,
        version=event_type.version,
        source=source,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        provider_id=provider_id,
        data=data.model_dump(mode="json", exclude_none=False),
        traceparent=current_traceparent(),
    )
