"""users: the transactional outbox (account.deleted)

Revision ID: users_0003
Revises: users_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from calisera.core.migrations import create_outbox_table

revision: str = "users_0003"
down_revision: str | None = "users_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_table("users")


def downgrade() -> None:
    op.drop_table("outbox", schema="users")
