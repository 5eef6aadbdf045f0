"""Tables of the ``providers`` schema.

Availability is stored as the provider entered it, in wall-clock time (``time`` and
``timestamp without time zone``): the hours mean the same when the provider moves to
another zone or the zone changes its rules. Invariants the business depends on are
CHECK constraints; Python validates first only to give good messages.

Directory (``listed`` and what a listed provider shows): ``search_text`` and
``search_document`` are generated columns over name, bio, categories and place, so the
search can never disagree with the row; ``providers.directory_text`` is an IMMUTABLE SQL
function of the migration (``array_to_string`` itself is only STABLE).

Versions: ``providers.version`` is the aggregate version of the provider's events
(``provider.*`` and ``availability.updated`` share the provider id as aggregate id);
``services.version`` that of the service's events. ``providers.schedule_version`` is
bumped by *any* change of the provider, its services or its availability, and is part
of every :class:`~calisera.providers.schemas.ScheduleConfig` version.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from calisera.core.consumers import processed_events_table
from calisera.core.database import schema_metadata
from calisera.core.outbox import outbox_table

metadata = schema_metadata("providers")

SLUG_CHECK = "slug ~ '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'"

SEARCH_TEXT = "providers.directory_text(name, categories, city, area)"
"""What fuzzy (trigram) matching compares the query with: short fields only, so a long
bio does not make every query look similar."""
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('simple', name), 'A')"
    " || setweight(to_tsvector('simple',"
    " providers.directory_text('', categories, city, area)), 'B')"
    " || setweight(to_tsvector('simple', coalesce(bio, '')), 'C')"
)
"""The full-text document of the directory: the name weighs most, then categories and
place, then the bio. The ``simple`` configuration (no stemming) because providers write
in many languages; typos and word forms are left to the trigram match."""


class Base(DeclarativeBase):
    metadata = metadata


class Provider(Base):
    __tablename__ = "providers"
    __table_args__ = (
        sa.CheckConstraint(SLUG_CHECK, name="slug_format"),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        sa.CheckConstraint("version >= 1 AND schedule_version >= 1", name="versions_positive"),
        sa.CheckConstraint("cardinality(categories) <= 5", name="categories_count"),
        sa.CheckConstraint("cardinality(languages) <= 10", name="languages_count"),
        sa.Index("uq_providers_slug", "slug", unique=True),
        sa.Index("ix_providers_owner_email", sa.text("lower(owner_email)")),
        sa.Index("ix_providers_owner_subject", "owner_subject"),
        sa.Index("ix_providers_created", "created_at", "id"),
        sa.Index(
            "ix_providers_search_document",
            "search_document",
            postgresql_using="gin",
        ),
        sa.Index(
            "ix_providers_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
        sa.Index(
            "ix_providers_categories",
            "categories",
            postgresql_using="gin",
        ),
        sa.Index(
            "ix_providers_listed_name",
            sa.text("lower(name)"),
            "id",
            postgresql_where=sa.text("listed AND NOT suspended"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    slug: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str] = mapped_column(sa.Text)
    timezone: Mapped[str] = mapped_column(sa.Text)
    locale: Mapped[str] = mapped_column(sa.Text, server_default="en")
    bio: Mapped[str | None] = mapped_column(sa.Text)
    photo_url: Mapped[str | None] = mapped_column(sa.Text)
    logo_url: Mapped[str | None] = mapped_column(sa.Text)
    contact_email: Mapped[str | None] = mapped_column(sa.Text)
    contact_phone: Mapped[str | None] = mapped_column(sa.Text)
    accent_color: Mapped[str | None] = mapped_column(sa.Text)
    welcome_text: Mapped[str | None] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.Text)
    policy_text: Mapped[str | None] = mapped_column(sa.Text)
    shown_service_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    owner_email: Mapped[str] = mapped_column(sa.Text)
    owner_subject: Mapped[str | None] = mapped_column(sa.Text)
    suspended: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    listed: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    categories: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    city: Mapped[str | None] = mapped_column(sa.Text)
    area: Mapped[str | None] = mapped_column(sa.Text)
    languages: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    search_text: Mapped[str] = mapped_column(sa.Text, sa.Computed(SEARCH_TEXT), deferred=True)
    search_document: Mapped[Any] = mapped_column(
        TSVECTOR, sa.Computed(SEARCH_DOCUMENT), deferred=True
    )
    version: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    schedule_version: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('simple', 'event', 'class')", name="kind"),
        sa.CheckConstraint("duration_minutes > 0 AND duration_minutes <= 1440", name="duration"),
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint("kind <> 'simple' OR capacity = 1", name="simple_capacity_one"),
        sa.CheckConstraint("kind <> 'event' OR starts_at IS NOT NULL", name="event_has_start"),
        sa.CheckConstraint(
            "kind <> 'class' OR (rrule IS NOT NULL AND start_time IS NOT NULL "
            "AND starts_on IS NOT NULL)",
            name="class_has_recurrence",
        ),
        sa.CheckConstraint("until IS NULL OR until >= starts_on", name="until_after_start"),
        sa.CheckConstraint(
            "slot_interval_minutes IS NULL OR slot_interval_minutes > 0", name="slot_interval"
        ),
        sa.CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers"
        ),
        sa.CheckConstraint(
            "min_notice_minutes >= 0 AND cancellation_notice_minutes >= 0", name="notices"
        ),
        sa.CheckConstraint("booking_window_days >= 1", name="booking_window"),
        sa.CheckConstraint(
            "max_bookings_per_day IS NULL OR max_bookings_per_day >= 1", name="daily_limit"
        ),
        sa.CheckConstraint(
            "max_bookings_per_week IS NULL OR max_bookings_per_week >= 1", name="weekly_limit"
        ),
        sa.CheckConstraint(
            "(max_open_bookings_per_customer IS NULL OR max_open_bookings_per_customer >= 1)"
            " AND (min_gap_minutes_per_customer IS NULL OR min_gap_minutes_per_customer >= 1)",
            name="customer_limits",
        ),
        sa.CheckConstraint(
            "reschedule_notice_minutes IS NULL OR reschedule_notice_minutes >= 0",
            name="reschedule_notice",
        ),
        sa.CheckConstraint(
            "confirmation_timeout_minutes BETWEEN 5 AND 43200", name="confirmation_timeout"
        ),
        sa.CheckConstraint("jsonb_typeof(questions) = 'array'", name="questions_array"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_services_provider_created", "provider_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("providers.providers.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    duration_minutes: Mapped[int] = mapped_column(sa.Integer)
    capacity: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    slot_interval_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    buffer_before_minutes: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    buffer_after_minutes: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    min_notice_minutes: Mapped[int] = mapped_column(sa.Integer, server_default="60")
    booking_window_days: Mapped[int] = mapped_column(sa.Integer, server_default="60")
    max_bookings_per_day: Mapped[int | None] = mapped_column(sa.Integer)
    max_bookings_per_week: Mapped[int | None] = mapped_column(sa.Integer)
    max_open_bookings_per_customer: Mapped[int | None] = mapped_column(sa.Integer)
    min_gap_minutes_per_customer: Mapped[int | None] = mapped_column(sa.Integer)
    cancellation_notice_minutes: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    reschedule_notice_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    requires_confirmation: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    confirmation_timeout_minutes: Mapped[int] = mapped_column(sa.Integer, server_default="1440")
    location: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    price_text: Mapped[str | None] = mapped_column(sa.Text)
    starts_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    rrule: Mapped[str | None] = mapped_column(sa.Text)
    start_time: Mapped[time | None] = mapped_column(sa.Time)
    starts_on: Mapped[date | None] = mapped_column(sa.Date)
    until: Mapped[date | None] = mapped_column(sa.Date)
    exdates: Mapped[list[date]] = mapped_column(ARRAY(sa.Date), server_default="{}")
    active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    """The booking form's questions, as :class:`~calisera.providers.schemas.QuestionOut`."""
    archived_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    version: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


weekly_rules = sa.Table(
    "weekly_rules",
    metadata,
    sa.Column(
        "provider_id",
        UUID(as_uuid=True),
        sa.ForeignKey("providers.providers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("weekday", sa.SmallInteger, nullable=False),
    sa.Column("start", sa.Time, nullable=False),
    sa.Column("end", sa.Time, nullable=False),
    sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
    sa.CheckConstraint('"end" > start', name="end_after_start"),
    sa.PrimaryKeyConstraint("provider_id", "weekday", "start"),
)

date_overrides = sa.Table(
    "date_overrides",
    metadata,
    sa.Column(
        "provider_id",
        UUID(as_uuid=True),
        sa.ForeignKey("providers.providers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("intervals", JSONB, nullable=False, server_default="[]"),
    sa.CheckConstraint("jsonb_typeof(intervals) = 'array'", name="intervals_array"),
    sa.PrimaryKeyConstraint("provider_id", "date"),
)

time_off = sa.Table(
    "time_off",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column(
        "provider_id",
        UUID(as_uuid=True),
        sa.ForeignKey("providers.providers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("start", sa.DateTime(timezone=False), nullable=False),
    sa.Column("end", sa.DateTime(timezone=False), nullable=False),
    sa.Column("reason", sa.Text),
    sa.CheckConstraint('"end" > start', name="end_after_start"),
    sa.Index("ix_time_off_provider_id", "provider_id"),
)

outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
"""Events the providers consumer handled (``account.deleted``)."""

images = sa.Table(
    "images",
    metadata,
    sa.Column(
        "provider_id",
        UUID(as_uuid=True),
        sa.ForeignKey("providers.providers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.PrimaryKeyConstraint("provider_id", "kind"),
    sa.CheckConstraint("kind IN ('photo', 'logo')", name="kind"),
    sa.CheckConstraint(
        "media_type IN ('image/png', 'image/jpeg', 'image/webp')", name="media_type"
    ),
)
"""The uploaded photo and logo (:mod:`calisera.providers.images`)."""
