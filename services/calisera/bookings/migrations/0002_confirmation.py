"""bookings: requests awaiting the provider's confirmation, and their expiry

Revision ID: bookings_0002_confirmation
Revises: bookings_0001
Create Date: 2026-12-02

A request is a booking in status ``pending`` with an ``expires_at``. It holds its time
in the same exclusion constraint as a confirmed booking: its busy block carries the
same ``expires_at``. PostgreSQL cannot make a constraint depend on the clock (``now()``
is not immutable), so an expired request keeps its row until a writer of that provider,
under the provider's lock, expires it before writing (see
:mod:`calisera.bookings.expiry`); readers ignore rows whose ``expires_at`` has passed.
Terminal states of a request: ``confirmed`` (it becomes a booking), ``declined``,
``expired``, ``cancelled`` (by the customer). ``system`` acts when a request expires.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "bookings_0002_confirmation"
down_revision: str | None = "bookings_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "bookings"
STATUSES = "'pending', 'confirmed', 'declined', 'expired', 'cancelled', 'completed', 'no_show'"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status_known")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status_known"
        f" CHECK (status IN ({STATUSES}))"
    )
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN expires_at timestamptz")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_pending_expires"
        " CHECK (status <> 'pending' OR expires_at IS NOT NULL)"
    )
    op.execute(
        f"CREATE INDEX ix_bookings_pending_expiry ON {S}.bookings (provider_id, expires_at)"
        " WHERE status = 'pending'"
    )
    op.execute(f"ALTER TABLE {S}.busy_blocks ADD COLUMN expires_at timestamptz")
    op.execute(f"ALTER TABLE {S}.booking_history DROP CONSTRAINT ck_booking_history_actor_known")
    op.execute(
        f"ALTER TABLE {S}.booking_history ADD CONSTRAINT ck_booking_history_actor_known"
        " CHECK (actor IN ('customer', 'owner', 'admin', 'system'))"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.booking_history DROP CONSTRAINT ck_booking_history_actor_known")
    op.execute(
        f"ALTER TABLE {S}.booking_history ADD CONSTRAINT ck_booking_history_actor_known"
        " CHECK (actor IN ('customer', 'owner', 'admin'))"
    )
    op.execute(f"ALTER TABLE {S}.busy_blocks DROP COLUMN expires_at")
    op.execute(f"DROP INDEX {S}.ix_bookings_pending_expiry")
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_pending_expires")
    op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN expires_at")
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status_known")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status_known CHECK (status IN"
        " ('confirmed', 'cancelled', 'completed', 'no_show'))"
    )
