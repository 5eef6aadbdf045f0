"""users: passkeys (WebAuthn credentials) and their single-use challenges

Revision ID: users_0002
Revises: users_0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "users_0002"
down_revision: str | None = "users_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "passkeys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 100", name=op.f("ck_passkeys_name_length")
        ),
        sa.CheckConstraint("sign_count >= 0", name=op.f("ck_passkeys_sign_count_not_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["users.accounts.id"],
            name=op.f("fk_passkeys_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkeys_credential_id")),
        schema="users",
    )
    op.create_index(
        op.f("ix_users_passkeys_account_id"), "passkeys", ["account_id"], schema="users"
    )
    op.create_table(
        "webauthn_challenges",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("challenge", sa.LargeBinary(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('register', 'sign_in')", name=op.f("ck_webauthn_challenges_purpose_known")
        ),
        sa.CheckConstraint(
            "(purpose = 'register') = (account_id IS NOT NULL)",
            name=op.f("ck_webauthn_challenges_register_has_account"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["users.accounts.id"],
            name=op.f("fk_webauthn_challenges_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webauthn_challenges")),
        schema="users",
    )
    op.create_index(
        op.f("ix_users_webauthn_challenges_account_id"),
        "webauthn_challenges",
        ["account_id"],
        schema="users",
    )
    op.create_index(
        op.f("ix_users_webauthn_challenges_expires_at"),
        "webauthn_challenges",
        ["expires_at"],
        schema="users",
    )


def downgrade() -> None:
    op.drop_table("webauthn_challenges", schema="users")
    op.drop_table("passkeys", schema="users")
