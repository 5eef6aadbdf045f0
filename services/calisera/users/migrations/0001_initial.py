"""users: accounts, identities, sessions, sign-in secrets

Revision ID: users_0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "users_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        schema="users",
    )
    op.create_index(
        "uq_accounts_email",
        "accounts",
        [sa.literal_column("lower(email)")],
        unique=True,
        schema="users",
    )
    op.create_table(
        "magic_links",
        sa.Column("token_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("return_to", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_magic_links")),
        schema="users",
    )
    op.create_index(
        op.f("ix_users_magic_links_email"), "magic_links", ["email"], unique=False, schema="users"
    )
    op.create_table(
        "oidc_logins",
        sa.Column("state_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("idp", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=False),
        sa.Column("binding_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("return_to", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_oidc_logins")),
        schema="users",
    )
    op.create_index(
        op.f("ix_users_oidc_logins_expires_at"),
        "oidc_logins",
        ["expires_at"],
        unique=False,
        schema="users",
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("idp", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["users.accounts.id"],
            name=op.f("fk_identities_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("idp", "subject", name="idp_subject"),
        schema="users",
    )
    op.create_index(
        op.f("ix_users_identities_account_id"),
        "identities",
        ["account_id"],
        unique=False,
        schema="users",
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("idp", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("ip", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_used_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "method IN ('oidc', 'magic_link', 'passkey')", name=op.f("ck_sessions_method_known")
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_sessions_expires_after_creation")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["users.accounts.id"],
            name=op.f("fk_sessions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        schema="users",
    )
    op.create_index(
        op.f("ix_users_sessions_account_id"),
        "sessions",
        ["account_id"],
        unique=False,
        schema="users",
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["users.sessions.id"],
            name=op.f("fk_refresh_tokens_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
        schema="users",
    )
    op.create_index(
        op.f("ix_users_refresh_tokens_session_id"),
        "refresh_tokens",
        ["session_id"],
        unique=False,
        schema="users",
    )
    op.create_table(
        "sign_in_codes",
        sa.Column("code_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["users.sessions.id"],
            name=op.f("fk_sign_in_codes_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_sign_in_codes")),
        schema="users",
    )
    op.create_index(
        op.f("ix_users_sign_in_codes_session_id"),
        "sign_in_codes",
        ["session_id"],
        unique=False,
        schema="users",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_users_sign_in_codes_session_id"), table_name="sign_in_codes", schema="users"
    )
    op.drop_table("sign_in_codes", schema="users")
    op.drop_index(
        op.f("ix_users_refresh_tokens_session_id"), table_name="refresh_tokens", schema="users"
    )
    op.drop_table("refresh_tokens", schema="users")
    op.drop_index(op.f("ix_users_sessions_account_id"), table_name="sessions", schema="users")
    op.drop_table("sessions", schema="users")
    op.drop_index(op.f("ix_users_identities_account_id"), table_name="identities", schema="users")
    op.drop_table("identities", schema="users")
    op.drop_index(op.f("ix_users_oidc_logins_expires_at"), table_name="oidc_logins", schema="users")
    op.drop_table("oidc_logins", schema="users")
    op.drop_index(op.f("ix_users_magic_links_email"), table_name="magic_links", schema="users")
    op.drop_table("magic_links", schema="users")
    op.drop_index("uq_accounts_email", table_name="accounts", schema="users")
    op.drop_table("accounts", schema="users")
