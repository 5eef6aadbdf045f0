"""Tables of the notifications schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from calisera.core.consumers import processed_events_table
from calisera.core.database import schema_metadata

metadata = schema_metadata("notifications")

processed_events = processed_events_table(metadata)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("booking_id", UUID(as_uuid=True), nullable=True),
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    # committed once the SMTP server took the envelope, before the content goes out
    sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.UniqueConstraint("event_id", "channel", "recipient", name="uq_messages_dedup"),
    sa.CheckConstraint("channel IN ('email', 'sms', 'push')", name="channel"),
    sa.CheckConstraint(
        "status IN ('pending', 'sending', 'sent', 'dead', 'uncertain')", name="status"
    ),
)

booking_state = sa.Table(
    "booking_state",
    metadata,
    sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
)

reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("booking_version", sa.Integer, primary_key=True),
    sa.Column("offset_minutes", sa.Integer, primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="scheduled"),
    sa.CheckConstraint("status IN ('scheduled', 'sent', 'cancelled')", name="status"),
)

provider_settings = sa.Table(
    "provider_settings",
    metadata,
    sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("reminder_offsets", ARRAY(sa.Integer), nullable=False),
    sa.Column("email_provider", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("push_provider", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("sms_customer", sa.Boolean, nullable=False, server_default=sa.true()),
)

providers = sa.Table(
    "providers",
    metadata,
    sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("slug", sa.Text, nullable=True),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("owner_email", sa.Text, nullable=True),
    sa.Column("timezone", sa.Text, nullable=True),
)

push_subscriptions = sa.Table(
    "push_subscriptions",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("endpoint", sa.Text, nullable=False, unique=True),
    sa.Column("p256dh", sa.Text, nullable=False),
    sa.Column("auth", sa.Text, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

manage_tokens = sa.Table(
    "manage_tokens",
    metadata,
    sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
    # The booking's manage token as ``booking.created`` carried it: sealed, never plain;
    # NULL when that event carried none. No row: booking.created has not arrived yet.
    sa.Column("sealed", sa.Text, nullable=True),
    sa.Column(
        "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

vapid_keys = sa.Table(
    "vapid_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("private_pem", sa.Text, nullable=False),
    sa.Column("public_key", sa.Text, nullable=False),
    sa.CheckConstraint("id = 1", name="singleton"),
)

dev_mailbox = sa.Table(
    "dev_mailbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("message_id", sa.Text, nullable=False, unique=True),
    sa.Column("sender", sa.Text, nullable=False),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=True),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column(
        "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)
