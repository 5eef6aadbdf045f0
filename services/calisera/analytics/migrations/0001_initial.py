"""analytics: processed events, booking observations and facts, daily aggregates

Revision ID: analytics_0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from calisera.core.migrations import create_processed_events_table

revision: str = "analytics_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "analytics"
STATS = (
    "created",
    "cancelled",
    "rescheduled",
    "completed",
    "no_show",
    "bookings",
    "seats_booked",
    "booked_minutes",
    "lead_time_minutes",
    "cancel_notice_minutes",
)


def upgrade() -> None:
    create_processed_events_table(S)
    op.create_table(
        "secrets",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        schema=S,
    )
    op.create_table(
        "booking_observations",
        sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("aggregate_version", sa.Integer, primary_key=True),
        sa.Column("event_type", sa.Text, primary_key=True),
        sa.Column("provider_id", UUID(as_uuid=True), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("observation", JSONB, nullable=False),
        schema=S,
    )
    op.create_index(
        "ix_analytics_booking_observations_provider_id",
        "booking_observations",
        ["provider_id"],
        schema=S,
    )
    op.create_table(
        "bookings",
        sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("provider_id", UUID(as_uuid=True), nullable=True),
        sa.Column("service_id", UUID(as_uuid=True), nullable=True),
        sa.Column("service_kind", sa.Text, nullable=True),
        sa.Column("service_name", sa.Text, nullable=True),
        sa.Column("status", sa.Text, nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seats", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reschedule_count", sa.Integer, nullable=False),
        sa.Column("provider_timezone", sa.Text, nullable=True),
        sa.Column("customer_key", sa.Text, nullable=True),
        sa.Column("customer_timezone", sa.Text, nullable=True),
        sa.Column("customer_country", sa.Text, nullable=True),
        schema=S,
    )
    op.create_index(
        "ix_analytics_bookings_provider_id", "bookings", ["provider_id", "created_at"], schema=S
    )
    op.create_table(
        "services",
        sa.Column("service_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("kind", sa.Text, nullable=True),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recurrence", JSONB, nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fields", JSONB, nullable=False),
        schema=S,
    )
    op.create_index("ix_analytics_services_provider_id", "services", ["provider_id"], schema=S)
    op.create_table(
        "providers",
        sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("timezone", sa.Text, nullable=True),
        sa.Column("availability", JSONB, nullable=True),
        sa.Column("fields", JSONB, nullable=False),
        schema=S,
    )
    stat_columns = [sa.Column(n, sa.Integer, nullable=False, server_default="0") for n in STATS]
    op.create_table(
        "daily_stats",
        sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("service_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        *stat_columns,
        schema=S,
    )
    op.create_table(
        "daily_buckets",
        sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("service_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("dimension", sa.Text, primary_key=True),
        sa.Column("bucket", sa.Text, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        schema=S,
    )


def downgrade() -> None:
    for table in (
        "daily_buckets",
        "daily_stats",
        "providers",
        "services",
        "bookings",
        "booking_observations",
        "secrets",
        "processed_events",
    ):
        op.drop_table(table, schema=S)
