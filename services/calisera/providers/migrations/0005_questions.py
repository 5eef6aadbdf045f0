"""providers: booking questions of a service

Revision ID: providers_0005_questions
Revises: providers_0004
Create Date: 2026-12-03

``questions`` is the list of questions the booking form asks (text, long text, single
or multiple choice, checkbox, phone; each required or not), as JSON objects with their
ids. It is read whole with the service (the schedule read model carries it to the
bookings service, which checks the answers), so a JSONB array is the natural shape: no
query ever looks inside it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "providers_0005_questions"
down_revision: str | None = "providers_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "providers"


def upgrade() -> None:
    op.add_column(
        "services",
        sa.Column("questions", JSONB, nullable=False, server_default="[]"),
        schema=S,
    )
    op.create_check_constraint(
        "ck_services_questions_array", "services", "jsonb_typeof(questions) = 'array'", schema=S
    )


def downgrade() -> None:
    op.drop_constraint("ck_services_questions_array", "services", schema=S)
    op.drop_column("services", "questions", schema=S)
