"""Bookings schema: bookings, occurrences, busy blocks (no double booking), history,
idempotency keys, outbox.

See :mod:`calisera.bookings.models` for the design.

Revision ID: bookings_0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

from calisera.core.migrations import create_outbox_table

revision: str = "bookings_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "bookings"


def upgrade() -> None:
    # btree_gist lets one GiST index combine "=" on provider_id with "&&" on the range.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        f"""
        CREATE TABLE {S}.occurrences (
            id uuid PRIMARY KEY,
            provider_id uuid NOT NULL,
            service_id uuid NOT NULL,
            start_at timestamptz NOT NULL,
            end_at timestamptz NOT NULL,
            capacity integer NOT NULL,
            seats_taken integer NOT NULL DEFAULT 0,
            CONSTRAINT uq_occurrences_service_start UNIQUE (service_id, start_at),
            CONSTRAINT ck_occurrences_seats_within_capacity CHECK (seats_taken <= capacity),
            CONSTRAINT ck_occurrences_seats_not_negative CHECK (seats_taken >= 0),
            CONSTRAINT ck_occurrences_ends_after_start CHECK (end_at > start_at)
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE {S}.bookings (
            id uuid PRIMARY KEY,
            provider_id uuid NOT NULL,
            service_id uuid NOT NULL,
            service_kind text NOT NULL,
            service_name text NOT NULL,
            provider_name text NOT NULL,
            provider_timezone text NOT NULL,
            occurrence_id uuid REFERENCES {S}.occurrences (id),
            start_at timestamptz NOT NULL,
            end_at timestamptz NOT NULL,
            buffer_before_minutes integer NOT NULL DEFAULT 0,
            buffer_after_minutes integer NOT NULL DEFAULT 0,
            seats integer NOT NULL DEFAULT 1,
            status text NOT NULL,
            customer_name text NOT NULL,
            customer_email text NOT NULL,
            customer_phone text,
            customer_timezone text,
            notes text,
            manage_token_hash bytea NOT NULL,
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CONSTRAINT ck_bookings_status_known
                CHECK (status IN ('confirmed', 'cancelled', 'completed', 'no_show')),
            CONSTRAINT ck_bookings_service_kind_known
                CHECK (service_kind IN ('simple', 'event', 'class')),
            CONSTRAINT ck_bookings_ends_after_start CHECK (end_at > start_at),
            CONSTRAINT ck_bookings_seats_positive CHECK (seats >= 1),
            CONSTRAINT ck_bookings_occurrence_iff_group
                CHECK ((service_kind = 'simple') = (occurrence_id IS NULL))
        )
        """
    )
    op.execute(
        f"CREATE INDEX ix_bookings_provider_start ON {S}.bookings (provider_id, start_at, id)"
    )
    op.execute(f"CREATE INDEX ix_bookings_occurrence ON {S}.bookings (occurrence_id)")
    op.execute(
        f"""
        CREATE TABLE {S}.busy_blocks (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            provider_id uuid NOT NULL,
            service_id uuid NOT NULL,
            booking_id uuid UNIQUE REFERENCES {S}.bookings (id) ON DELETE CASCADE,
            occurrence_id uuid UNIQUE REFERENCES {S}.occurrences (id) ON DELETE CASCADE,
            start_at timestamptz NOT NULL,
            end_at timestamptz NOT NULL,
            buffer_before_minutes integer NOT NULL,
            buffer_after_minutes integer NOT NULL,
            during tstzrange NOT NULL,
            CONSTRAINT ck_busy_blocks_one_owner
                CHECK ((booking_id IS NULL) <> (occurrence_id IS NULL)),
            CONSTRAINT ex_busy_blocks_no_overlap
                EXCLUDE USING gist (provider_id WITH =, during WITH &&)
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE {S}.booking_history (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            booking_id uuid NOT NULL REFERENCES {S}.bookings (id) ON DELETE CASCADE,
            version integer NOT NULL,
            action text NOT NULL,
            actor text NOT NULL,
            actor_id text,
            reason text,
            status text NOT NULL,
            start_at timestamptz NOT NULL,
            end_at timestamptz NOT NULL,
            previous_start_at timestamptz,
            previous_end_at timestamptz,
            occurred_at timestamptz NOT NULL,
            CONSTRAINT ck_booking_history_actor_known
                CHECK (actor IN ('customer', 'owner', 'admin'))
        )
        """
    )
    op.execute(
        f"CREATE INDEX ix_booking_history_booking ON {S}.booking_history (booking_id, version)"
    )
    op.execute(
        f"""
        CREATE TABLE {S}.idempotency_keys (
            scope text NOT NULL,
            key_hash bytea NOT NULL,
            request_hash bytea NOT NULL,
            state text NOT NULL,
            status_code integer,
            response bytea,
            created_at timestamptz NOT NULL,
            completed_at timestamptz,
            PRIMARY KEY (scope, key_hash),
            CONSTRAINT ck_idempotency_keys_state_known CHECK (state IN ('in_flight', 'completed'))
        )
        """
    )
    op.execute(f"CREATE INDEX ix_idempotency_keys_created ON {S}.idempotency_keys (created_at)")
    create_outbox_table(S)


def downgrade() -> None:
    for table in ("outbox", "idempotency_keys", "booking_history", "busy_blocks", "bookings"):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table}")
    op.execute(f"DROP TABLE IF EXISTS {S}.occurrences")
