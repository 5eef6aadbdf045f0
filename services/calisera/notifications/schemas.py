"""Request and response models of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
)

from calisera.core.text import MultiLine, SingleLine, refuse_control_characters
from calisera.core.values import Flag, Whole


def _printable_url(value: Any) -> Any:
    """pydantic would percent-encode a NUL in a URL's path; refuse it instead (422)."""
    return refuse_control_characters(value) if isinstance(value, str) else value


MAX_ENDPOINT_LENGTH = 2048


def _printable_bounded_url(value: Any) -> Any:
    """The limit applies to what the browser sent: pydantic's normal form may add a
    ``/`` (``https://push.example`` becomes ``https://push.example/``)."""
    if isinstance(value, str) and len(value) > MAX_ENDPOINT_LENGTH:
        raise ValueError(f"must be at most {MAX_ENDPOINT_LENGTH} characters")
    return _printable_url(value)


PushEndpoint = Annotated[
    HttpUrl,
    BeforeValidator(_printable_bounded_url),
    Field(json_schema_extra={"maxLength": MAX_ENDPOINT_LENGTH}),
]
"""The push service's URL for one browser (a capability: unguessable, one per device)."""


class PushKeys(BaseModel):
    p256dh: Annotated[str, SingleLine(256, min_length=16)]
    auth: Annotated[str, SingleLine(64, min_length=8)]


class PushSubscriptionIn(BaseModel):
    """The browser's ``PushSubscription.toJSON()``."""

    endpoint: PushEndpoint
    keys: PushKeys


class PushSubscriptionOut(BaseModel):
    id: uuid.UUID
    endpoint: str


class PushUnsubscribe(BaseModel):
    endpoint: PushEndpoint


class VapidPublicKey(BaseModel):
    public_key: str
    """For ``pushManager.subscribe({applicationServerKey})`` (base64url, uncompressed P-256)."""


ReminderOffset = Annotated[int, Whole(ge=5, le=14 * 24 * 60)]
"""Minutes before the booking: 5 minutes to 14 days (20160)."""


class NotificationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminder_offsets_minutes: list[ReminderOffset] = Field(
        default=[1440, 60],
        max_length=5,
        description="Reminders this many minutes before the booking; [] turns them off.",
    )
    email_provider: Flag = True
    push_provider: Flag = True
    sms_customer: Flag = True


class Delivery(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    booking_id: uuid.UUID | None
    channel: Literal["email", "sms", "push"]
    recipient: str
    kind: str
    status: Literal["pending", "sending", "sent", "dead", "uncertain"]
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: str | None


class MailboxMessage(BaseModel):
    id: int
    sender: str
    recipient: str
    subject: str
    text: str
    received_at: datetime


class Mailbox(BaseModel):
    items: list[MailboxMessage]


class TransactionalEmail(BaseModel):
    """An e-mail another service asks to have sent now (sign-in links): it goes out
    through the same channel as booking mail (SMTP, or the development mailbox)."""

    to: EmailStr = Field(max_length=320)
    subject: Annotated[str, SingleLine(200, min_length=1)]
    text: Annotated[str, MultiLine(20_000, min_length=1)]
    html: Annotated[str, MultiLine(100_000, min_length=1)]
