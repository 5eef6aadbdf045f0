"""providers: profiles, service catalog, availability, outbox

Revision ID: providers_0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from calisera.core.migrations import create_outbox_table

revision: str = "providers_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "providers"


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "providers",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("timezone", sa.Text, nullable=False),
        sa.Column("locale", sa.Text, nullable=False, server_default="en"),
        sa.Column("bio", sa.Text),
        sa.Column("photo_url", sa.Text),
        sa.Column("logo_url", sa.Text),
        sa.Column("contact_email", sa.Text),
        sa.Column("contact_phone", sa.Text),
        sa.Column("accent_color", sa.Text),
        sa.Column("welcome_text", sa.Text),
        sa.Column("shown_service_ids", ARRAY(UUID(as_uuid=True))),
        sa.Column("owner_email", sa.Text, nullable=False),
        sa.Column("owner_subject", sa.Text),
        sa.Column("suspended", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("schedule_version", sa.Integer, nullable=False, server_default="1"),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'", name="ck_providers_slug_format"
        ),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="ck_providers_name_length"),
        sa.CheckConstraint(
            "version >= 1 AND schedule_version >= 1", name="ck_providers_versions_positive"
        ),
        schema=S,
    )
    op.create_index("uq_providers_slug", "providers", ["slug"], unique=True, schema=S)
    op.create_index(
        "ix_providers_owner_email", "providers", [sa.text("lower(owner_email)")], schema=S
    )
    op.create_index("ix_providers_owner_subject", "providers", ["owner_subject"], schema=S)
    op.create_index("ix_providers_created", "providers", ["created_at", "id"], schema=S)

    op.create_table(
        "services",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "provider_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{S}.providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False, server_default="1"),
        sa.Column("slot_interval_minutes", sa.Integer),
        sa.Column("buffer_before_minutes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("buffer_after_minutes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("min_notice_minutes", sa.Integer, nullable=False, server_default="60"),
        sa.Column("booking_window_days", sa.Integer, nullable=False, server_default="60"),
        sa.Column("max_bookings_per_day", sa.Integer),
        sa.Column("cancellation_notice_minutes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("location", JSONB),
        sa.Column("price_text", sa.Text),
        sa.Column("starts_at", sa.DateTime(timezone=True)),
        sa.Column("rrule", sa.Text),
        sa.Column("start_time", sa.Time),
        sa.Column("starts_on", sa.Date),
        sa.Column("until", sa.Date),
        sa.Column("exdates", ARRAY(sa.Date), nullable=False, server_default="{}"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("archived_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint("kind IN ('simple', 'event', 'class')", name="ck_services_kind"),
        sa.CheckConstraint(
            "duration_minutes > 0 AND duration_minutes <= 1440", name="ck_services_duration"
        ),
        sa.CheckConstraint("capacity >= 1", name="ck_services_capacity_positive"),
        sa.CheckConstraint(
            "kind <> 'simple' OR capacity = 1", name="ck_services_simple_capacity_one"
        ),
        sa.CheckConstraint(
            "kind <> 'event' OR starts_at IS NOT NULL", name="ck_services_event_has_start"
        ),
        sa.CheckConstraint(
            "kind <> 'class' OR (rrule IS NOT NULL AND start_time IS NOT NULL "
            "AND starts_on IS NOT NULL)",
            name="ck_services_class_has_recurrence",
        ),
        sa.CheckConstraint(
            "until IS NULL OR until >= starts_on", name="ck_services_until_after_start"
        ),
        sa.CheckConstraint(
            "slot_interval_minutes IS NULL OR slot_interval_minutes > 0",
            name="ck_services_slot_interval",
        ),
        sa.CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="ck_services_buffers"
        ),
        sa.CheckConstraint(
            "min_notice_minutes >= 0 AND cancellation_notice_minutes >= 0",
            name="ck_services_notices",
        ),
        sa.CheckConstraint("booking_window_days >= 1", name="ck_services_booking_window"),
        sa.CheckConstraint(
            "max_bookings_per_day IS NULL OR max_bookings_per_day >= 1",
            name="ck_services_daily_limit",
        ),
        sa.CheckConstraint("version >= 1", name="ck_services_version_positive"),
        schema=S,
    )
    op.create_index(
        "ix_services_provider_created", "services", ["provider_id", "created_at", "id"], schema=S
    )

    op.create_table(
        "weekly_rules",
        sa.Column(
            "provider_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{S}.providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("weekday", sa.SmallInteger, nullable=False),
        sa.Column("start", sa.Time, nullable=False),
        sa.Column("end", sa.Time, nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_weekly_rules_weekday"),
        sa.CheckConstraint('"end" > start', name="ck_weekly_rules_end_after_start"),
        sa.PrimaryKeyConstraint("provider_id", "weekday", "start", name="pk_weekly_rules"),
        schema=S,
    )
    op.create_table(
        "date_overrides",
        sa.Column(
            "provider_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{S}.providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("intervals", JSONB, nullable=False, server_default="[]"),
        sa.CheckConstraint(
            "jsonb_typeof(intervals) = 'array'", name="ck_date_overrides_intervals_array"
        ),
        sa.PrimaryKeyConstraint("provider_id", "date", name="pk_date_overrides"),
        schema=S,
    )
    op.create_table(
        "time_off",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column(
            "provider_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{S}.providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("start", sa.DateTime(timezone=False), nullable=False),
        sa.Column("end", sa.DateTime(timezone=False), nullable=False),
        sa.Column("reason", sa.Text),
        sa.CheckConstraint('"end" > start', name="ck_time_off_end_after_start"),
        schema=S,
    )
    op.create_index("ix_time_off_provider_id", "time_off", ["provider_id"], schema=S)

    create_outbox_table(S)


def downgrade() -> None:
    op.drop_table("outbox", schema=S)
    op.drop_table("time_off", schema=S)
    op.drop_table("date_overrides", schema=S)
    op.drop_table("weekly_rules", schema=S)
    op.drop_table("services", schema=S)
    op.drop_table("providers", schema=S)
