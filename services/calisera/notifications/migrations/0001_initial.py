"""Notifications: messages (delivery log), reminders, settings, push, dev mailbox.

Revision ID: 0001_notifications_initial
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from calisera.core.migrations import create_processed_events_table

revision: str = "0001_notifications_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "notifications"


def upgrade() -> None:
    create_processed_events_table(S)
    op.create_table(
        "messages",
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
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("event_id", "channel", "recipient", name="uq_messages_dedup"),
        sa.CheckConstraint("channel IN ('email', 'sms', 'push')", name="ck_messages_channel"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'dead')", name="ck_messages_status"
        ),
        schema=S,
    )
    op.create_index(
        "ix_messages_due",
        "messages",
        ["next_attempt_at"],
        schema=S,
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index("ix_messages_provider", "messages", ["provider_id", "created_at"], schema=S)
    op.create_table(
        "booking_state",
        sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_table(
        "reminders",
        sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("booking_version", sa.Integer, primary_key=True),
        sa.Column("offset_minutes", sa.Integer, primary_key=True),
        sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="scheduled"),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sent', 'cancelled')", name="ck_reminders_status"
        ),
        schema=S,
    )
    op.create_index(
        "ix_reminders_due",
        "reminders",
        ["due_at"],
        schema=S,
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.create_table(
        "provider_settings",
        sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("reminder_offsets", ARRAY(sa.Integer), nullable=False),
        sa.Column("email_provider", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("push_provider", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("sms_customer", sa.Boolean, nullable=False, server_default=sa.true()),
        schema=S,
    )
    op.create_table(
        "providers",
        sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("slug", sa.Text, nullable=True),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("owner_email", sa.Text, nullable=True),
        sa.Column("timezone", sa.Text, nullable=True),
        schema=S,
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False, unique=True),
        sa.Column("p256dh", sa.Text, nullable=False),
        sa.Column("auth", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=S,
    )
    op.create_index(
        "ix_push_subscriptions_provider_id", "push_subscriptions", ["provider_id"], schema=S
    )
    op.create_table(
        "vapid_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_vapid_keys_singleton"),
        schema=S,
    )
    op.create_table(
        "dev_mailbox",
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
        schema=S,
    )


def downgrade() -> None:
    for table in (
        "dev_mailbox",
        "vapid_keys",
        "push_subscriptions",
        "providers",
        "provider_settings",
        "reminders",
        "booking_state",
        "messages",
        "processed_events",
    ):
        op.drop_table(table, schema=S)
