"""Tables of the ``users`` schema.

Every secret that grants something (refresh tokens, sign-in codes, magic links, OIDC
login states) is stored only as its SHA-256: the tokens are 256-bit random values, so a
plain hash is enough and a leaked table signs nobody in. Single use is a conditional
``UPDATE ... WHERE used_at IS NULL`` (or a ``DELETE ... RETURNING``), so two concurrent
uses of one token cannot both succeed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from calisera.core.database import schema_metadata
from calisera.core.outbox import outbox_table

metadata = schema_metadata("users")

SIGN_IN_METHODS = ("oidc", "magic_link", "passkey")


def _now() -> sa.ColumnElement[datetime]:
    return sa.func.now()


class Base(DeclarativeBase):
    metadata = metadata


class Account(Base):
    """A person who signs in. The e-mail is unique case-insensitively and verified: an
    account only ever comes to exist through a proof of that address."""

    __tablename__ = "accounts"
    __table_args__ = (sa.Index("uq_accounts_email", sa.text("lower(email)"), unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    email: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Identity(Base):
    """An account's identity at one OpenID Connect provider (``iss``-scoped ``sub``)."""

    __tablename__ = "identities"
    __table_args__ = (sa.UniqueConstraint("idp", "subject", name="idp_subject"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.accounts.id", ondelete="CASCADE"), index=True
    )
    idp: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())


class Session(Base):
    """One sign-in: a refresh-token family. Revoking it ends every token of the family."""

    __tablename__ = "sessions"
    __table_args__ = (
        sa.CheckConstraint("method IN ('oidc', 'magic_link', 'passkey')", name="method_known"),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.accounts.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(sa.Text)
    idp: Mapped[str | None] = mapped_column(sa.Text)
    user_agent: Mapped[str | None] = mapped_column(sa.Text)
    ip: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
    last_used_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=_now()
    )
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(sa.Text)


class RefreshToken(Base):
    """One member of a session's family; ``used_at`` is set when it is rotated."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[bytes] = mapped_column(BYTEA, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.sessions.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class SignInCode(Base):
    """A one-time code (60 s) that hands a fresh session to the web BFF after a browser
    sign-in; the BFF redeems it server-to-server for the session's first tokens."""

    __tablename__ = "sign_in_codes"

    code_hash: Mapped[bytes] = mapped_column(BYTEA, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.sessions.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class MagicLink(Base):
    """A single-use sign-in link sent by e-mail (15 minutes)."""

    __tablename__ = "magic_links"

    token_hash: Mapped[bytes] = mapped_column(BYTEA, primary_key=True)
    email: Mapped[str] = mapped_column(sa.Text, index=True)
    return_to: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class OidcLogin(Base):
    """A started OpenID Connect login: PKCE verifier and nonce, keyed by the ``state``,
    bound to the browser that started it by a cookie (``binding_hash``)."""

    __tablename__ = "oidc_logins"

    state_hash: Mapped[bytes] = mapped_column(BYTEA, primary_key=True)
    idp: Mapped[str] = mapped_column(sa.Text)
    nonce: Mapped[str] = mapped_column(sa.Text)
    code_verifier: Mapped[str] = mapped_column(sa.Text)
    binding_hash: Mapped[bytes] = mapped_column(BYTEA)
    return_to: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


class Passkey(Base):
    """A WebAuthn credential of an account: several per account, each named by its
    owner. Only the public key is stored; ``sign_count`` catches cloned authenticators."""

    __tablename__ = "passkeys"
    __table_args__ = (
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        sa.CheckConstraint("sign_count >= 0", name="sign_count_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.accounts.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(BYTEA, unique=True)
    public_key: Mapped[bytes] = mapped_column(BYTEA)
    sign_count: Mapped[int] = mapped_column(sa.BigInteger)
    name: Mapped[str] = mapped_column(sa.Text)
    transports: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class WebauthnChallenge(Base):
    """A challenge handed to a browser for one passkey ceremony: used once (taken with
    ``DELETE ... RETURNING``), valid a few minutes, bound to the account registering."""

    __tablename__ = "webauthn_challenges"
    __table_args__ = (
        sa.CheckConstraint("purpose IN ('register', 'sign_in')", name="purpose_known"),
        sa.CheckConstraint(
            "(purpose = 'register') = (account_id IS NOT NULL)", name="register_has_account"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.Text)
    challenge: Mapped[bytes] = mapped_column(BYTEA)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.accounts.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


outbox = outbox_table(metadata)
"""The users service's transactional outbox (``account.deleted``)."""
