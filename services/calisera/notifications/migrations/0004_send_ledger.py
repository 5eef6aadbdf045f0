"""Notifications: the send ledger's hand-over mark and the ``uncertain`` state.

``handed_over_at`` is committed after the SMTP server accepted the envelope and before
the message content is transmitted; a message found in that state after a crash is not
sent again but marked ``uncertain`` (at-most-once for that window, docs/delivery.md).

Revision ID: 0004_notifications_send_ledger
Revises: 0003_notifications_tokens_data
Create Date: 2027-02-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_notifications_send_ledger"
down_revision: str | None = "0003_notifications_tokens_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _drop_status_check() -> None:
    """Whatever 0001 named it (its explicit name went through the naming convention)."""
    op.execute(
        """
        DO $$
        DECLARE name text;
        BEGIN
          FOR name IN SELECT conname FROM pg_constraint
            WHERE conrelid = 'notifications.messages'::regclass AND contype = 'c'
              AND pg_get_constraintdef(oid) LIKE '%status%'
          LOOP
            EXECUTE format('ALTER TABLE notifications.messages DROP CONSTRAINT %I', name);
          END LOOP;
        END $$
        """
    )


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        schema="notifications",
    )
    _drop_status_check()
    op.create_check_constraint(
        "status",
        "messages",
        "status IN ('pending', 'sending', 'sent', 'dead', 'uncertain')",
        schema="notifications",
    )


def downgrade() -> None:
    op.execute("UPDATE notifications.messages SET status = 'dead' WHERE status = 'uncertain'")
    _drop_status_check()
    op.create_check_constraint(
        "status",
        "messages",
        "status IN ('pending', 'sending', 'sent', 'dead')",
        schema="notifications",
    )
    op.drop_column("messages", "handed_over_at", schema="notifications")
