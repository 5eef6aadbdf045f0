"""providers: uploaded photo and logo

Revision ID: providers_0008_images
Revises: providers_0007_page_texts
Create Date: 2026-12-03

A provider's photo and logo as uploaded from the page builder: re-encoded on upload
(metadata stripped, at most 1024 px a side), so what is stored is what is served, and
served resized from here. One row a kind; a provider's deletion removes them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "providers_0008_images"
down_revision: str | None = "providers_0007_page_texts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "providers"


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column(
            "provider_id",
            UUID(as_uuid=True),
            sa.ForeignKey("providers.providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("provider_id", "kind"),
        sa.CheckConstraint("kind IN ('photo', 'logo')", name="ck_images_kind"),
        sa.CheckConstraint(
            "media_type IN ('image/png', 'image/jpeg', 'image/webp')", name="ck_images_media_type"
        ),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("images", schema=S)
