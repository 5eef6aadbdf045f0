"""integrations: webhook endpoints, deliveries and attempts; feed tokens; read models of
bookings and providers; CalDAV connections, busy time and pending writes; the outbox.

Revision ID: integrations_0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "integrations_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_bookings")),
        schema="integrations",
    )
    op.create_index(
        "ix_integrations_bookings_feed",
        "bookings",
        ["provider_id", "start_at"],
        unique=False,
        schema="integrations",
    )
    op.create_table(
        "caldav_connections",
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_sealed", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "next_sync_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'synced', 'not_synced')",
            name=op.f("ck_caldav_connections_caldav_status"),
        ),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_caldav_connections")),
        schema="integrations",
    )
    op.create_table(
        "caldav_writes",
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("booking_version", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "action IN ('put', 'delete')", name=op.f("ck_caldav_writes_caldav_write_action")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'done')", name=op.f("ck_caldav_writes_caldav_write_status")
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_caldav_writes")),
        schema="integrations",
    )
    op.create_index(
        "ix_caldav_writes_due",
        "caldav_writes",
        ["next_attempt_at"],
        unique=False,
        schema="integrations",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "feeds",
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_feeds_token_hash")),
        schema="integrations",
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("aggregate_id", sa.UUID(), nullable=False),
        sa.Column("aggregate_version", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
        schema="integrations",
    )
    op.create_index(
        op.f("ix_integrations_outbox_aggregate_id"),
        "outbox",
        ["aggregate_id", "aggregate_version"],
        unique=False,
        schema="integrations",
    )
    op.create_index(
        op.f("ix_integrations_outbox_seq"),
        "outbox",
        ["seq"],
        unique=False,
        schema="integrations",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column(
            "handled_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
        schema="integrations",
    )
    op.create_table(
        "providers",
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_providers")),
        schema="integrations",
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("event_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        schema="integrations",
    )
    op.create_index(
        op.f("ix_integrations_webhook_endpoints_provider_id"),
        "webhook_endpoints",
        ["provider_id"],
        unique=False,
        schema="integrations",
    )
    op.create_table(
        "caldav_busy",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_caldav_busy_caldav_busy_order")),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["integrations.caldav_connections.provider_id"],
            name=op.f("fk_caldav_busy_provider_id_caldav_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caldav_busy")),
        schema="integrations",
    )
    op.create_index(
        "ix_caldav_busy_provider",
        "caldav_busy",
        ["provider_id", "start_at"],
        unique=False,
        schema="integrations",
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("endpoint_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_latency_ms", sa.Integer(), nullable=True),
        sa.Column("last_response_excerpt", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_delivery_status"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["integrations.webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_event"),
        schema="integrations",
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        schema="integrations",
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index(
        "ix_webhook_deliveries_log",
        "webhook_deliveries",
        ["endpoint_id", "created_at", "id"],
        unique=False,
        schema="integrations",
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["integrations.webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
        schema="integrations",
    )
    op.create_index(
        op.f("ix_integrations_webhook_attempts_delivery_id"),
        "webhook_attempts",
        ["delivery_id"],
        unique=False,
        schema="integrations",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_integrations_webhook_attempts_delivery_id"),
        table_name="webhook_attempts",
        schema="integrations",
    )
    op.drop_table("webhook_attempts", schema="integrations")
    op.drop_index(
        "ix_webhook_deliveries_log", table_name="webhook_deliveries", schema="integrations"
    )
    op.drop_index(
        "ix_webhook_deliveries_due",
        table_name="webhook_deliveries",
        schema="integrations",
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.drop_table("webhook_deliveries", schema="integrations")
    op.drop_index("ix_caldav_busy_provider", table_name="caldav_busy", schema="integrations")
    op.drop_table("caldav_busy", schema="integrations")
    op.drop_index(
        op.f("ix_integrations_webhook_endpoints_provider_id"),
        table_name="webhook_endpoints",
        schema="integrations",
    )
    op.drop_table("webhook_endpoints", schema="integrations")
    op.drop_table("providers", schema="integrations")
    op.drop_table("processed_events", schema="integrations")
    op.drop_index(
        op.f("ix_integrations_outbox_seq"),
        table_name="outbox",
        schema="integrations",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_index(
        op.f("ix_integrations_outbox_aggregate_id"), table_name="outbox", schema="integrations"
    )
    op.drop_table("outbox", schema="integrations")
    op.drop_table("feeds", schema="integrations")
    op.drop_index(
        "ix_caldav_writes_due",
        table_name="caldav_writes",
        schema="integrations",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("caldav_writes", schema="integrations")
    op.drop_table("caldav_connections", schema="integrations")
    op.drop_index("ix_integrations_bookings_feed", table_name="bookings", schema="integrations")
    op.drop_table("bookings", schema="integrations")
