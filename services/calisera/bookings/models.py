"""Tables of the bookings schema, and how they make double booking impossible.

Design (the database guarantees it; Python only explains failures nicely):

``bookings``
    One row per reservation, any kind. ``status`` is one of ``pending`` (a request
    awaiting the provider's confirmation, until ``expires_at``), ``confirmed``,
    ``declined``, ``expired``, ``cancelled``, ``completed``, ``no_show``; ``version``
    starts at 1 and grows with every change (it is the ``aggregate_version`` of the
    booking's events). The customer's manage token is stored only as its SHA-256.
    ``answers`` holds the customer's answers to the service's questions as given, each
    with the question's label and kind (:mod:`calisera.bookings.answers`).
    ``series_id`` joins the bookings of one class series (:mod:`calisera.bookings.series`):
    they share it and one manage token.

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
    A pending request holds its time like a confirmed booking: its block carries the
    request's ``expires_at``; an expired block is ignored by readers and deleted, under
    the provider's lock, by the next writer of that provider before it writes
    (:mod:`calisera.bookings.expiry`), so the constraint never keeps expired time.
    A block exists exactly while its booking is pending, confirmed, completed or no-show
    (cancelling deletes it; a reschedule moves it in place, so the old time is freed
    only if the new one is taken, in the same transaction) and while its occurrence
    has seats taken (the last cancellation deletes it). Overlap of two buffered ranges
    is the same rule the scheduling engine applies (``BusyInterval``). The GiST index
    of the constraint also serves the busy-time read (provider + range).

``holds``
    A slot (or seats) kept for a few minutes for a customer filling in the form
    (``POST /api/v1/holds``): a one-to-one hold owns a busy block carrying the hold's
    ``expires_at``, a hold of seats counts in ``seats_taken``. A booking that presents
    the hold id deletes it and takes the time in the same transaction; an expired hold
    is deleted like an expired request.

``waitlist_entries``
    Customers waiting for seats of a full event or class occurrence
    (:mod:`calisera.bookings.waitlist`), in line by ``(created_at, id)``. ``status`` is
    ``waiting``, ``offered`` (its seats are held for it by a hold, ``hold_id``, until
    ``offer_expires_at``), ``claimed`` (``booking_id``), ``expired`` (the offer ran out)
    or ``left``. A partial unique index lets one e-mail address wait at most once per
    occurrence while waiting or offered. Offers are made under the provider's lock in the
    transaction that frees the seats, by taking them into a hold: the occurrence's CHECK
    then guarantees that no seat is offered twice, nor booked by someone else meanwhile.
    The entry's token is stored as its SHA-256 (like the manage token) and, for the offer
    e-mail only, sealed for the notifications service (:mod:`calisera.core.sealing`); the
    sealed copy is dropped when the entry ends.

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
from sqlalchemy.dialects.postgresql import JSONB, TSTZRANGE, UUID, ExcludeConstraint

from calisera.core.consumers import processed_events_table
from calisera.core.database import schema_metadata
from calisera.core.outbox import outbox_table

metadata = schema_metadata("bookings")

ACTIVE_STATUSES = ("confirmed", "completed", "no_show")
STATUSES = ("pending", "confirmed", "declined", "expired", "cancelled", "completed", "no_show")

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
    sa.Column("answers", JSONB, nullable=False, server_default="[]"),
    sa.Column("manage_token_hash", sa.LargeBinary, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("series_id", UUID(as_uuid=True)),
    sa.CheckConstraint(
        "status IN ('pending', 'confirmed', 'declined', 'expired', 'cancelled', 'completed',"
        " 'no_show')",
        name="status_known",
    ),
    sa.CheckConstraint("status <> 'pending' OR expires_at IS NOT NULL", name="pending_expires"),
    sa.CheckConstraint("service_kind IN ('simple', 'event', 'class')", name="service_kind_known"),
    sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
    sa.CheckConstraint("seats >= 1", name="seats_positive"),
    sa.CheckConstraint("jsonb_typeof(answers) = 'array'", name="answers_array"),
    sa.CheckConstraint(
        "(service_kind = 'simple') = (occurrence_id IS NULL)", name="occurrence_iff_group"
    ),
    sa.Index("ix_bookings_provider_start", "provider_id", "start_at", "id"),
    sa.Index(
        "ix_bookings_series",
        "series_id",
        "start_at",
        postgresql_where=sa.text("series_id IS NOT NULL"),
    ),
    sa.Index(
        "ix_bookings_service_customer",
        "service_id",
        sa.text("lower(customer_email)"),
        "start_at",
    ),
)

holds = sa.Table(
    "holds",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("service_id", UUID(as_uuid=True), nullable=False),
    sa.Column("occurrence_id", UUID(as_uuid=True), sa.ForeignKey(occurrences.c.id)),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("seats >= 1", name="seats_positive"),
    sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
    sa.Index("ix_holds_provider_expiry", "provider_id", "expires_at"),
)

waitlist_entries = sa.Table(
    "waitlist_entries",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
    sa.Column("service_id", UUID(as_uuid=True), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("customer_name", sa.Text, nullable=False),
    sa.Column("customer_email", sa.Text, nullable=False),
    sa.Column("customer_phone", sa.Text),
    sa.Column("customer_timezone", sa.Text),
    sa.Column("service_name", sa.Text, nullable=False),
    sa.Column("provider_name", sa.Text, nullable=False),
    sa.Column("provider_timezone", sa.Text, nullable=False),
    sa.Column("provider_slug", sa.Text),
    sa.Column("buffer_before_minutes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("buffer_after_minutes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("offer_minutes", sa.Integer, nullable=False),
    sa.Column("last_offer_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("token_hash", sa.LargeBinary, nullable=False),
    sa.Column("token_sealed", sa.Text),
    sa.Column("hold_id", UUID(as_uuid=True), sa.ForeignKey(holds.c.id, ondelete="SET NULL")),
    sa.Column("offered_at", sa.DateTime(timezone=True)),
    sa.Column("offer_expires_at", sa.DateTime(timezone=True)),
    sa.Column("booking_id", UUID(as_uuid=True), sa.ForeignKey(bookings.c.id, ondelete="SET NULL")),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(
        "status IN ('waiting', 'offered', 'claimed', 'expired', 'left')", name="status_known"
    ),
    sa.CheckConstraint("status <> 'offered' OR offer_expires_at IS NOT NULL", name="offer_expires"),
    sa.CheckConstraint("seats >= 1", name="seats_positive"),
    sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
    sa.CheckConstraint("offer_minutes >= 1", name="offer_minutes_positive"),
    sa.Index(
        "uq_waitlist_entries_one_per_customer",
        "service_id",
        "start_at",
        sa.text("lower(customer_email)"),
        unique=True,
        postgresql_where=sa.text("status IN ('waiting', 'offered')"),
    ),
    sa.Index(
        "ix_waitlist_entries_waiting",
        "provider_id",
        "service_id",
        "start_at",
        "created_at",
        "id",
        postgresql_where=sa.text("status = 'waiting'"),
    ),
    sa.Index("ix_waitlist_entries_occurrence", "service_id", "start_at", "created_at", "id"),
    sa.Index("ix_waitlist_entries_hold", "hold_id"),
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
    sa.Column(
        "hold_id",
        UUID(as_uuid=True),
        sa.ForeignKey(holds.c.id, ondelete="CASCADE"),
        unique=True,
    ),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("buffer_before_minutes", sa.Integer, nullable=False),
    sa.Column("buffer_after_minutes", sa.Integer, nullable=False),
    sa.Column("during", TSTZRANGE, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("num_nonnulls(booking_id, occurrence_id, hold_id) = 1", name="one_owner"),
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
    sa.CheckConstraint("actor IN ('customer', 'owner', 'admin', 'system')", name="actor_known"),
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
processed_events = processed_events_table(metadata)
"""Events the bookings consumer handled (``provider.deleted``)."""

__all__ = [
    "ACTIVE_STATUSES",
    "STATUSES",
    "booking_history",
    "bookings",
    "busy_blocks",
    "holds",
    "idempotency_keys",
    "metadata",
    "occurrences",
    "outbox",
    "processed_events",
    "waitlist_entries",
]
