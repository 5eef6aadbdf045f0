"""bookings: class series

Revision ID: bookings_0007_series
Revises: bookings_0006_customer_index
Create Date: 2026-12-03

A customer may book every occurrence of a class for some weeks in one request
(``POST /api/v1/bookings/series``): each occurrence is an ordinary booking, and the
bookings of one request share ``series_id`` (and one manage token), so one manage link
can cancel one occurrence or the rest of the series. The index serves "the rest of this
series" and the manage page's list of the series.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "bookings_0007_series"
down_revision: str | None = "bookings_0006_customer_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE bookings.bookings ADD COLUMN series_id uuid")
    op.execute(
        "CREATE INDEX ix_bookings_series ON bookings.bookings (series_id, start_at)"
        " WHERE series_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX bookings.ix_bookings_series")
    op.execute("ALTER TABLE bookings.bookings DROP COLUMN series_id")
