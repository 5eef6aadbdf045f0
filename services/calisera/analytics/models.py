"""Tables of the analytics schema.

``booking_observations`` (what each booking event said, minus personal data) and the
``bookings``/``services``/``providers`` fact tables are the source; ``daily_stats`` and
``daily_buckets`` are aggregates derived from the booking facts
(:mod:`calisera.analytics.contributions`) and can be rebuilt from them at any time.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from calisera.analytics.contributions import STAT_COLUMNS
from calisera.core.consumers import processed_events_table
from calisera.core.database import schema_metadata

metadata = schema_metadata("analytics")

processed_events = processed_events_table(metadata)

secrets = sa.Table(
    "secrets",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.LargeBinary, nullable=False),
)

booking_observations = sa.Table(
    "booking_observations",
    metadata,
    sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("aggregate_version", sa.Integer, primary_key=True),
    sa.Column("event_type", sa.Text, primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("observation", JSONB, nullable=False),
    sa.Index(None, "provider_id"),
)

bookings = sa.Table(
    "bookings",
    metadata,
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
    sa.Index(None, "provider_id", "created_at"),
)

services = sa.Table(
    "services",
    metadata,
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
    sa.Index(None, "provider_id"),
)

providers = sa.Table(
    "providers",
    metadata,
    sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("timezone", sa.Text, nullable=True),
    sa.Column("availability", JSONB, nullable=True),
    sa.Column("fields", JSONB, nullable=False),
)

_STAT_COLUMNS = [
    sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in STAT_COLUMNS
]

daily_stats = sa.Table(
    "daily_stats",
    metadata,
    sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("service_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    *_STAT_COLUMNS,
)

daily_buckets = sa.Table(
    "daily_buckets",
    metadata,
    sa.Column("provider_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("service_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("dimension", sa.Text, primary_key=True),
    sa.Column("bucket", sa.Text, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)
