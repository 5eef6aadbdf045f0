"""Tables of the integrations schema.

Everything this service knows of bookings and providers it learned from their events
(``bookings``, ``providers`` here are read models), never from their schemas. Secrets
it must use again (webhook signing secrets, CalDAV app passwords) are stored sealed
(:mod:`calisera.core.sealing`); the feed token, which it only has to recognise, as a
SHA-256 hash.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from calisera.core.consumers import processed_events_table
from calisera.core.database import schema_metadata
from calisera.core.outbox import outbox_table

metadata = schema_metadata("integrations")

processed_events = processed_events_table(metadata)
outbox = outbox_table(metadata)

_NOW = sa.func.now()

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("event_types", ARRAY(sa.Text), nullable=False),
    sa.Column("secret_sealed", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "endpoint_id",
        UUID(as_uuid=True),
        sa.ForeignKey("integrations.webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_latency_ms", sa.Integer, nullable=True),
    sa.Column("last_response_excerpt", sa.Text, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_event"),
    sa.CheckConstraint(
        "status IN ('pending', 'sending', 'delivered', 'failed')", name="delivery_status"
    ),
    sa.Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    ),
    sa.Index("ix_webhook_deliveries_log", "endpoint_id", "created_at", "id"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column(
        "delivery_id",
        UUID(as_uuid=True),
        sa.ForeignKey("integrations.webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("response_excerpt", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
)

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
)

providers = sa.Table(
    "providers",
    metadata,
    sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("timezone", sa.Text, nullable=True),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", JSONB, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Index("ix_integrations_bookings_feed", "provider_id", "start_at"),
)

caldav_connections = sa.Table(
    "caldav_connections",
    metadata,
    sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("password_sealed", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.CheckConstraint("status IN ('pending', 'synced', 'not_synced')", name="caldav_status"),
)

caldav_busy = sa.Table(
    "caldav_busy",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column(
        "provider_id",
        UUID(as_uuid=True),
        sa.ForeignKey("integrations.caldav_connections.provider_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("end_at > start_at", name="caldav_busy_order"),
    sa.Index("ix_caldav_busy_provider", "provider_id", "start_at"),
)

caldav_writes = sa.Table(
    "caldav_writes",
    metadata,
    sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("booking_version", sa.Integer, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.CheckConstraint("action IN ('put', 'delete')", name="caldav_write_action"),
    sa.CheckConstraint("status IN ('pending', 'done')", name="caldav_write_status"),
    sa.Index(
        "ix_caldav_writes_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")
    ),
)
