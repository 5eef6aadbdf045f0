"""providers: weekly and per-customer booking limits, and the reschedule notice

Revision ID: providers_0006_limits
Revises: providers_0005_questions
Create Date: 2026-12-03

- ``max_bookings_per_week``: bookings of the service starting in one ISO week (Monday
  to Sunday, the provider's zone), beside the daily limit;
- ``max_open_bookings_per_customer``: future confirmed or pending bookings of the
  service per customer e-mail;
- ``min_gap_minutes_per_customer``: the least time between one customer's bookings of
  the service;
- ``reschedule_notice_minutes``: how long before the start a customer may still move a
  booking (null: the cancellation notice, which applied to both before).

All null by default: nothing changes for existing services. The bookings service
enforces them under the provider's lock (:mod:`calisera.bookings.customer_limits`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "providers_0006_limits"
down_revision: str | None = "providers_0005_questions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "providers"
COLUMNS = (
    "max_bookings_per_week",
    "max_open_bookings_per_customer",
    "min_gap_minutes_per_customer",
    "reschedule_notice_minutes",
)


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("services", sa.Column(name, sa.Integer), schema=S)
    op.create_check_constraint(
        "ck_services_weekly_limit",
        "services",
        "max_bookings_per_week IS NULL OR max_bookings_per_week >= 1",
        schema=S,
    )
    op.create_check_constraint(
        "ck_services_customer_limits",
        "services",
        "(max_open_bookings_per_customer IS NULL OR max_open_bookings_per_customer >= 1)"
        " AND (min_gap_minutes_per_customer IS NULL OR min_gap_minutes_per_customer >= 1)",
        schema=S,
    )
    op.create_check_constraint(
        "ck_services_reschedule_notice",
        "services",
        "reschedule_notice_minutes IS NULL OR reschedule_notice_minutes >= 0",
        schema=S,
    )


def downgrade() -> None:
    for name in ("reschedule_notice", "customer_limits", "weekly_limit"):
        op.drop_constraint(f"ck_services_{name}", "services", schema=S)
    for name in reversed(COLUMNS):
        op.drop_column("services", name, schema=S)
