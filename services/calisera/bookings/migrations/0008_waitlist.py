"""bookings: waitlist of full events and class occurrences

Revision ID: bookings_0008_waitlist
Revises: bookings_0007_series
Create Date: 2026-12-03

Customers wait in line, by ``(created_at, id)``, for seats of a full occurrence. When
seats free, the first waiting entry whose seats fit is offered them: they are held for
it by an ordinary hold (so they count in the occurrence's ``seats_taken`` under its
CHECK) until ``offer_expires_at``. The partial unique index lets one e-mail address
wait at most once per occurrence while it waits or holds an offer; the partial index
of waiting entries is what every writer that frees seats reads, under the provider's
lock, to find whom to offer them to (:mod:`calisera.bookings.waitlist`).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "bookings_0008_waitlist"
down_revision: str | None = "bookings_0007_series"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "bookings"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE {S}.waitlist_entries (
            id uuid PRIMARY KEY,
            provider_id uuid NOT NULL,
            service_id uuid NOT NULL,
            start_at timestamptz NOT NULL,
            end_at timestamptz NOT NULL,
            seats integer NOT NULL,
            status text NOT NULL,
            customer_name text NOT NULL,
            customer_email text NOT NULL,
            customer_phone text,
            customer_timezone text,
            service_name text NOT NULL,
            provider_name text NOT NULL,
            provider_timezone text NOT NULL,
            provider_slug text,
            buffer_before_minutes integer NOT NULL DEFAULT 0,
            buffer_after_minutes integer NOT NULL DEFAULT 0,
            offer_minutes integer NOT NULL,
            last_offer_at timestamptz NOT NULL,
            token_hash bytea NOT NULL,
            token_sealed text,
            hold_id uuid CONSTRAINT fk_waitlist_entries_hold_id_holds
                REFERENCES {S}.holds (id) ON DELETE SET NULL,
            offered_at timestamptz,
            offer_expires_at timestamptz,
            booking_id uuid CONSTRAINT fk_waitlist_entries_booking_id_bookings
                REFERENCES {S}.bookings (id) ON DELETE SET NULL,
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CONSTRAINT ck_waitlist_entries_status_known
                CHECK (status IN ('waiting', 'offered', 'claimed', 'expired', 'left')),
            CONSTRAINT ck_waitlist_entries_offer_expires
                CHECK (status <> 'offered' OR offer_expires_at IS NOT NULL),
            CONSTRAINT ck_waitlist_entries_seats_positive CHECK (seats >= 1),
            CONSTRAINT ck_waitlist_entries_ends_after_start CHECK (end_at > start_at),
            CONSTRAINT ck_waitlist_entries_offer_minutes_positive CHECK (offer_minutes >= 1)
        )
        """
    )
    op.execute(
        f"CREATE UNIQUE INDEX uq_waitlist_entries_one_per_customer ON {S}.waitlist_entries"
        " (service_id, start_at, lower(customer_email))"
        " WHERE status IN ('waiting', 'offered')"
    )
    op.execute(
        f"CREATE INDEX ix_waitlist_entries_waiting ON {S}.waitlist_entries"
        " (provider_id, service_id, start_at, created_at, id) WHERE status = 'waiting'"
    )
    op.execute(
        f"CREATE INDEX ix_waitlist_entries_occurrence ON {S}.waitlist_entries"
        " (service_id, start_at, created_at, id)"
    )
    op.execute(f"CREATE INDEX ix_waitlist_entries_hold ON {S}.waitlist_entries (hold_id)")


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.waitlist_entries")
