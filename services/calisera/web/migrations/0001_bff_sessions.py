"""web: the BFF's server-side sessions

Revision ID: web_0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "web_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bff_sessions",
        sa.Column("id_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("users_session_id", sa.UUID(), nullable=False),
        sa.Column("refresh_token_sealed", sa.Text(), nullable=False),
        sa.Column("access_token_sealed", sa.Text(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_bff_sessions")),
        schema="web",
    )
    op.create_index(
        op.f("ix_web_bff_sessions_users_session_id"),
        "bff_sessions",
        ["users_session_id"],
        schema="web",
    )
    op.create_index(
        op.f("ix_web_bff_sessions_refresh_expires_at"),
        "bff_sessions",
        ["refresh_expires_at"],
        schema="web",
    )


def downgrade() -> None:
    op.drop_table("bff_sessions", schema="web")
