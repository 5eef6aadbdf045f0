"""bookings: the customer's answers to the service's booking questions

Revision ID: bookings_0005_answers
Revises: bookings_0004
Create Date: 2026-12-03

Each answer is stored with the question's label and kind as they were when booking
(:mod:`calisera.bookings.answers`), so the booking reads the same after the provider
edits or removes a question; read and written whole with the booking, hence JSONB.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "bookings_0005_answers"
down_revision: str | None = "bookings_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "bookings"


def upgrade() -> None:
    op.add_column(
        "bookings", sa.Column("answers", JSONB, nullable=False, server_default="[]"), schema=S
    )
    op.create_check_constraint(
        "ck_bookings_answers_array", "bookings", "jsonb_typeof(answers) = 'array'", schema=S
    )


def downgrade() -> None:
    op.drop_constraint("ck_bookings_answers_array", "bookings", schema=S)
    op.drop_column("bookings", "answers", schema=S)
