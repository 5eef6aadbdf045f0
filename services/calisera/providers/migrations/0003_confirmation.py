"""providers: services that require the provider's confirmation

Revision ID: providers_0003_confirmation
Revises: providers_0002_directory
Create Date: 2026-12-02

``requires_confirmation`` makes a booking of the service a *request* the provider
confirms or declines; an unanswered request expires after
``confirmation_timeout_minutes`` (5 minutes to 30 days) and frees its time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "providers_0003_confirmation"
down_revision: str | None = "providers_0002_directory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "providers"


def upgrade() -> None:
    op.add_column(
        "services",
        sa.Column("requires_confirmation", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=S,
    )
    op.add_column(
        "services",
        sa.Column(
            "confirmation_timeout_minutes", sa.Integer, nullable=False, server_default="1440"
        ),
        schema=S,
    )
    op.create_check_constraint(
        "ck_services_confirmation_timeout",
        "services",
        "confirmation_timeout_minutes BETWEEN 5 AND 43200",
        schema=S,
    )


def downgrade() -> None:
    op.drop_constraint("ck_services_confirmation_timeout", "services", schema=S)
    op.drop_column("services", "confirmation_timeout_minutes", schema=S)
    op.drop_column("services", "requires_confirmation", schema=S)
