"""providers: the booking page's address and policy text

Revision ID: providers_0007_page_texts
Revises: providers_0006_limits
Create Date: 2026-12-03

Where the provider receives customers (one line, shown with a map link) and the house
rules customers read before they book (cancellation, lateness, what to bring).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "providers_0007_page_texts"
down_revision: str | None = "providers_0006_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "providers"


def upgrade() -> None:
    op.add_column("providers", sa.Column("address", sa.Text, nullable=True), schema=S)
    op.add_column("providers", sa.Column("policy_text", sa.Text, nullable=True), schema=S)


def downgrade() -> None:
    op.drop_column("providers", "policy_text", schema=S)
    op.drop_column("providers", "address", schema=S)
