"""providers: processed_events (the providers consumer of account.deleted)

Revision ID: providers_0004
Revises: providers_0003_confirmation
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from calisera.core.migrations import create_processed_events_table

revision: str = "providers_0004"
down_revision: str | None = "providers_0003_confirmation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_processed_events_table("providers")


def downgrade() -> None:
    op.drop_table("processed_events", schema="providers")
