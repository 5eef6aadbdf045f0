"""Notifications (data): move sealed manage tokens out of message and reminder payloads.

Until 0002 the sealed token travelled inside each confirmation's and reminder's payload;
it now lives once per booking in ``manage_tokens``, and payloads no longer carry it.

Revision ID: 0003_notifications_tokens_data
Revises: 0002_notifications_manage_tokens
Create Date: 2027-01-10
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_notifications_tokens_data"
down_revision: str | None = "0002_notifications_manage_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("messages", "reminders"):
        op.execute(
            f"""
            INSERT INTO notifications.manage_tokens (booking_id, sealed)
            SELECT DISTINCT ON (booking_id) booking_id, payload->>'manage_token_sealed'
              FROM notifications.{table}
             WHERE booking_id IS NOT NULL AND payload ? 'manage_token_sealed'
               AND payload->>'manage_token_sealed' IS NOT NULL
            ON CONFLICT (booking_id) DO NOTHING
            """  # noqa: S608 - table names are the two literals above
        )
        op.execute(
            f"UPDATE notifications.{table} SET payload = payload - 'manage_token_sealed' "  # noqa: S608
            "WHERE payload ? 'manage_token_sealed'"
        )


def downgrade() -> None:
    """Payloads are not refilled: older code then sends later e-mails without the link."""
