"""Tables of the ``web`` schema: the BFF's server-side sessions and the console's form nonces.

The browser holds only a random cookie value; this row (keyed by its SHA-256) holds the
Calisera tokens of the session, sealed (AES-256-GCM, :mod:`calisera.core.sealing`) so a
copy of the table signs nobody in.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from calisera.core.database import schema_metadata

metadata = schema_metadata("web")


class Base(DeclarativeBase):
    metadata = metadata


class BffSession(Base):
    __tablename__ = "bff_sessions"

    id_hash: Mapped[bytes] = mapped_column(BYTEA, primary_key=True)
    users_session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    refresh_token_sealed: Mapped[str] = mapped_column(sa.Text)
    access_token_sealed: Mapped[str] = mapped_column(sa.Text)
    access_expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    refresh_expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


class FormSubmission(Base):
    """A console form's nonce, claimed by its first submit: a repeat changes nothing."""

    __tablename__ = "form_submissions"

    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True
    )
