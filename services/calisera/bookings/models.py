"""Tables of the bookings schema, and how they make double booking impossible.

Design (the database guarantees it; Python only explains failures nicely):

``bookings``
    One row per reservation, any kind. ``status`` is one of ``confirmed``,
    ``cancelled``, ``completed``, ``no_show``; ``version`` starts at 1 and grows with
    every change (it is the ``aggregate_version`` of the booking's events). The
    customer's manage token is stored only as its SHA-256.

``occurrences``
    One row per booked dated instance of an event or class (``UNIQUE (service_id,
    start_at)``) with ``seats_taken`` and ``capacity`` and ``CHECK (seats_taken <=
    capacity)``. Taking seats is one conditional ``UPDATE ... SET seats_taken =
    seats_taken + :n WHERE seats_taken + :n <= :capacity``: the row lock serialises
    concurrent bookers and the CHECK backs it up, so an occurrence can never be
    oversold.

``busy_blocks``
    The provider's occupied time, one row per *active* one-to-one booking and one per
    occurrence that has at least one seat taken, with the buffered range
    ``during = tstzrange(start - buffer_before, end + buffer_after, '[)')`` and
    ``EXCLUDE USING gist (provider_id WITH =, during WITH &&)``. Because a provider is
    one person, simple bookings and booked occurrences share this one constraint: no
    two of them can overlap, whatever the kind, whichever process writes them.
    A block exists exactly while its booking is confirmed, completed or no-show
    (cancelling deletes it; a reschedule moves it in place, so the old time is freed
    only if the new one is taken, in the same transaction) and while its occurrence
    has seats taken (the last cancellation deletes it). Overlap of two buffered ranges
    is the same rule the scheduling engine applies (``BusyInterval``). The GiST index
    of the constraint also serves the busy-time read (provider + range).

``booking_history``
    Append-only log of every change: action, actor kind and id, reason, the version
    it produced, before/after times and status.

``idempotency_keys``
    ``Idempotency-Key`` requests: looked up by an HMAC of scope and key (the key itself is
    never stored), with the SHA-256 of the canonical request body and, once done, the
    response encrypted with a key derived from the Idempotency-Key (see
    :mod:`calisera.bookings.idempotency`). Rows older than 24 hours are ignored and
    cleaned up.

``outbox``
    The transactional outbox of :mod:`calisera.core.outbox`.

The tables are SQLAlchemy Core ``Table``s: the booking path is written as a few
explicit statements (it is the hot path of the benchmark), not through the ORM.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSTZRANGE, UUID, ExcludeConstraint

from calisera.core.database import schema_metadata
from calisera.core.outbox import outbox_table

metadata = schema_metadata("bookings")

ACTIVE_STATUSES = ("confirmed", "completed", "no_show")
STATUSES = ("confirmed", "cancelled", "completed", "no_show")

occurrences = sa.Table(
    "occurrences",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("service_id", UUID(as_uuid=True), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("seats_taken", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("service_id", "start_at", name="uq_occurrences_service_start"),
    sa.CheckConstraint("seats_taken <= capacity", name="seats_within_capacity"),
    sa.CheckConstraint("seats_taken >= 0", name="seats_not_negative"),
    sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("service_id", UUID(as_uuid=True), nullable=False),
    sa.Column("service_kind", sa.Text, nullable=False),
    sa.Column("service_name", sa.Text, nullable=False),
    sa.Column("provider_name", sa.Text, nullable=False),
    sa.Column("provider_timezone", sa.Text, nullable=False),
    sa.Column("occurrence_id", UUID(as_uuid=True), sa.ForeignKey(occurrences.c.id)),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("buffer_before_minutes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("buffer_after_minutes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("seats", sa.Integer, nullable=False, server_default="1"),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("customer_name", sa.Text, nullable=False),
    sa.Column("customer_email", sa.Text, nullable=False),
    sa.Column("customer_phone", sa.Text),
    sa.Column("customer_timezone", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("manage_token_hash", sa.LargeBinary, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(
        "status IN ('confirmed', 'cancelled', 'completed', 'no_show')", name="status_known"
    ),
    sa.CheckConstraint("service_kind IN ('simple', 'event', 'class')", name="service_kind_known"),
    sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
    sa.CheckConstraint("seats >= 1", name="seats_positive"),
    sa.CheckConstraint(
        "(service_kind = 'simple') = (occurrence_id IS NULL)", name="occurrence_iff_group"
    ),
    sa.Index("ix_bookings_provider_start", "provider_id", "start_at", "id"),
)

busy_blocks = sa.Table(
    "busy_blocks",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("service_id", UUID(as_uuid=True), nullable=False),
    sa.Column(
        "booking_id",
        UUID(as_uuid=True),
        sa.ForeignKey(bookings.c.id, ondelete="CASCADE"),
        unique=True,
    ),
    sa.Column(
        "occurrence_id",
        UUID(as_uuid=True),
        sa.ForeignKey(occurrences.c.id, ondelete="CASCADE"),
        unique=True,
    ),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("buffer_before_minutes", sa.Integer, nullable=False),
    sa.Column("buffer_after_minutes", sa.Integer, nullable=False),
    sa.Column("during", TSTZRANGE, nullable=False),
    sa.CheckConstraint("(booking_id IS NULL) <> (occurrence_id IS NULL)", name="one_owner"),
    ExcludeConstraint(
        (sa.column("provider_id"), "="),
        (sa.column("during"), "&&"),
        name="ex_busy_blocks_no_overlap",
        using="gist",
    ),
)

booking_history = sa.Table(
    "booking_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column(
        "booking_id",
        UUID(as_uuid=True),
        sa.ForeignKey(bookings.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("actor_id", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("previous_start_at", sa.DateTime(timezone=True)),
    sa.Column("previous_end_at", sa.DateTime(timezone=True)),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("actor IN ('customer', 'owner', 'admin')", name="actor_known"),
    sa.Index("ix_booking_history_booking", "booking_id", "version"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key_hash", sa.LargeBinary, primary_key=True),
    sa.Column("request_hash", sa.LargeBinary, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("response", sa.LargeBinary),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("state IN ('in_flight', 'completed')", name="state_known"),
    sa.Index("ix_idempotency_keys_created", "created_at"),
)

outbox = outbox_table(metadata)

__all__ = [
    "ACTIVE_STATUSES",
    "STATUSES",
    "booking_history",
    "bookings",
    "busy_blocks",
    "idempotency_keys",
    "metadata",
    "occurrences",
    "outbox",
]
