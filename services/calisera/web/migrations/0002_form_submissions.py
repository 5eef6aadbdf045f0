"""web: nonces of console forms (a double submit changes things once)

Revision ID: web_0002
Revises: web_0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "web_0002"
down_revision: str | None = "web_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_form_submissions")),
        schema="web",
    )
    op.create_index(
        op.f("ix_web_form_submissions_created_at"),
        "form_submissions",
        ["created_at"],
        schema="web",
    )


def downgrade() -> None:
    op.drop_table("form_submissions", schema="web")
