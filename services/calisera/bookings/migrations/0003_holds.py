"""bookings: slot holds

Revision ID: bookings_0003_holds
Revises: bookings_0002_confirmation
Create Date: 2026-12-02

A hold keeps a slot (or seats of an occurrence) for one customer for a few minutes
while they fill in the booking form. It takes part in the same guarantees as a booking:
a one-to-one hold owns a busy block (third possible owner of a block) in the exclusion
constraint, a hold of seats counts in the occurrence's ``seats_taken``. Like a request,
it expires by itself: writers delete expired holds under the provider's lock before they
write, readers ignore them (:mod:`calisera.bookings.expiry`).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "bookings_0003_holds"
down_revision: str | None = "bookings_0002_confirmation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "bookings"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE {S}.holds (
            id uuid PRIMARY KEY,
            provider_id uuid NOT NULL,
            service_id uuid NOT NULL,
            occurrence_id uuid REFERENCES {S}.occurrences (id),
            start_at timestamptz NOT NULL,
            end_at timestamptz NOT NULL,
            seats integer NOT NULL,
            expires_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL,
            CONSTRAINT ck_holds_seats_positive CHECK (seats >= 1),
            CONSTRAINT ck_holds_ends_after_start CHECK (end_at > start_at)
        )
        """
    )
    op.execute(f"CREATE INDEX ix_holds_provider_expiry ON {S}.holds (provider_id, expires_at)")
    op.execute(f"CREATE INDEX ix_holds_occurrence ON {S}.holds (occurrence_id)")
    op.execute(
        f"ALTER TABLE {S}.busy_blocks ADD COLUMN hold_id uuid UNIQUE"
        f" REFERENCES {S}.holds (id) ON DELETE CASCADE"
    )
    op.execute(f"ALTER TABLE {S}.busy_blocks DROP CONSTRAINT ck_busy_blocks_one_owner")
    op.execute(
        f"ALTER TABLE {S}.busy_blocks ADD CONSTRAINT ck_busy_blocks_one_owner"
        " CHECK (num_nonnulls(booking_id, occurrence_id, hold_id) = 1)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM bookings.busy_blocks WHERE hold_id IS NOT NULL")
    op.execute(f"ALTER TABLE {S}.busy_blocks DROP CONSTRAINT ck_busy_blocks_one_owner")
    op.execute(
        f"ALTER TABLE {S}.busy_blocks ADD CONSTRAINT ck_busy_blocks_one_owner"
        " CHECK ((booking_id IS NULL) <> (occurrence_id IS NULL))"
    )
    op.execute(f"ALTER TABLE {S}.busy_blocks DROP COLUMN hold_id")
    op.execute(f"DROP TABLE {S}.holds")
