"""bookings: an index for the per-customer limits

Revision ID: bookings_0006_customer_index
Revises: bookings_0005_answers
Create Date: 2026-12-03

``max_open_bookings_per_customer`` and ``min_gap_minutes_per_customer`` (providers'
services) are checked on every booking under the provider's lock by counting that
customer's bookings of the service (:mod:`calisera.bookings.customer_limits`): an index
on ``(service_id, lower(customer_email), start_at)`` keeps that lookup small while the
lock is held.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "bookings_0006_customer_index"
down_revision: str | None = "bookings_0005_answers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_bookings_service_customer"
        " ON bookings.bookings (service_id, lower(customer_email), start_at)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX bookings.ix_bookings_service_customer")
