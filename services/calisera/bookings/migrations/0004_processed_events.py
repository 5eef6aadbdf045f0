"""bookings: processed_events (the bookings consumer of provider.deleted)

Revision ID: bookings_0004
Revises: bookings_0003_holds
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from calisera.core.migrations import create_processed_events_table

revision: str = "bookings_0004"
down_revision: str | None = "bookings_0003_holds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_processed_events_table("bookings")


def downgrade() -> None:
    op.drop_table("processed_events", schema="bookings")
