"""Notifications: keep each booking's sealed manage token, whichever event brought it.

Revision ID: 0002_notifications_manage_tokens
Revises: 0001_notifications_initial
Create Date: 2027-01-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0002_notifications_manage_tokens"
down_revision: str | None = "0001_notifications_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "notifications"


def upgrade() -> None:
    op.create_table(
        "manage_tokens",
        sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("sealed", sa.Text, nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("manage_tokens", schema=S)
