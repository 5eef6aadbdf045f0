"""Sessions as refresh-token families, with rotation and reuse detection.

A sign-in opens a session and gives its first refresh token. Each use of a refresh
token marks it used and issues the next one (rotation). A refresh token presented a
second time means two parties hold it, one of them a thief: the whole family (the
session) is revoked and every party must sign in again (OAuth 2.0 Security BCP §4.14).
A refresh token lives ``REFRESH_TOKEN_TTL`` after its issue; a session at most
``SESSION_MAX_AGE`` after the sign-in, however often it is refreshed.

Access tokens are verified locally by every service and are not revoked with their
session; they die on their own within ``ACCESS_TOKEN_TTL_SECONDS``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.errors import Unauthorized
from calisera.core.tokens import ACCESS_TOKEN_TTL_SECONDS, TokenIssuer
from calisera.users.models import Account, RefreshToken, Session, SignInCode
from calisera.users.opaque_tokens import digest, new_opaque_token

REFRESH_TOKEN_TTL = timedelta(days=14)
SESSION_MAX_AGE = timedelta(days=90)
SIGN_IN_CODE_TTL = timedelta(seconds=60)


class InvalidGrant(Unauthorized):
    slug, title = "invalid-grant", "The refresh token or sign-in code is not valid"


class RefreshTokenReused(Unauthorized):
    slug, title = "refresh-token-reused", "A used refresh token was presented again"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    access_expires_in: int
    refresh_token: str
    refresh_expires_at: datetime
    session_id: uuid.UUID


@dataclass(frozen=True)
class Rotation:
    """The outcome of presenting a refresh token: new tokens, or the family revoked."""

    tokens: TokenPair | None
    reused: bool = False


async def open_session(
    session: AsyncSession,
    account: Account,
    *,
    method: str,
    idp: str | None = None,
    user_agent: str | None = None,
    ip: str | None = None,
) -> Session:
    now = datetime.now(UTC)
    row = Session(
        id=uuid.uuid4(),
        account_id=account.id,
        method=method,
        idp=idp,
        user_agent=(user_agent or "")[:400] or None,
        ip=ip,
        created_at=now,
        last_used_at=now,
        expires_at=now + SESSION_MAX_AGE,
    )
    session.add(row)
    account.last_sign_in_at = now
    await session.flush()
    return row


async def _issue(
    session: AsyncSession, issuer: TokenIssuer, row: Session, account: Account
) -> TokenPair:
    token, token_hash = new_opaque_token()
    now = datetime.now(UTC)
    expires_at = min(now + REFRESH_TOKEN_TTL, row.expires_at)
    session.add(
        RefreshToken(token_hash=token_hash, session_id=row.id, issued_at=now, expires_at=expires_at)
    )
    row.last_used_at = now
    await session.flush()
    access = issuer.issue(str(account.id), email=account.email, session_id=str(row.id))
    return TokenPair(access, ACCESS_TOKEN_TTL_SECONDS, token, expires_at, row.id)


async def create_sign_in_code(session: AsyncSession, row: Session) -> str:
    """A one-time code for the session, redeemed by the BFF with :func:`redeem_sign_in_code`."""
    code, code_hash = new_opaque_token()
    session.add(
        SignInCode(
            code_hash=code_hash,
            session_id=row.id,
            expires_at=datetime.now(UTC) + SIGN_IN_CODE_TTL,
        )
    )
    await session.flush()
    return code


async def redeem_sign_in_code(session: AsyncSession, issuer: TokenIssuer, code: str) -> TokenPair:
    """The session's first tokens, once: a second redemption is refused."""
    session_id = await session.scalar(
        sa.update(SignInCode)
        .where(
            SignInCode.code_hash == digest(code),
            SignInCode.used_at.is_(None),
            SignInCode.expires_at > sa.func.now(),
        )
        .values(used_at=sa.func.now())
        .returning(SignInCode.session_id)
    )
    row = await _live_session(session, session_id)
    if row is None:
        raise InvalidGrant("The sign-in code is unknown, used or expired.")
    return await _issue(session, issuer, row, await _account(session, row))


async def rotate(session: AsyncSession, issuer: TokenIssuer, refresh_token: str) -> Rotation:
    """Exchange a refresh token for the next pair; a reused one revokes its family.

    The caller commits in both cases (the revocation must stick) and then refuses a
    reuse with :class:`RefreshTokenReused`."""
    token_hash = digest(refresh_token)
    session_id = await session.scalar(
        sa.update(RefreshToken)
        .where(
            RefreshToken.token_hash == token_hash,
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > sa.func.now(),
        )
        .values(used_at=sa.func.now())
        .returning(RefreshToken.session_id)
    )
    if session_id is not None:
        row = await _live_session(session, session_id)
        if row is None:
            return Rotation(None)
        return Rotation(await _issue(session, issuer, row, await _account(session, row)))
    used = await session.scalar(
        sa.select(RefreshToken.session_id).where(
            RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_not(None)
        )
    )
    if used is None:
        return Rotation(None)
    await revoke(session, used, reason="refresh_token_reused")
    return Rotation(None, reused=True)


async def _live_session(session: AsyncSession, session_id: uuid.UUID | None) -> Session | None:
    if session_id is None:
        return None
    return await session.scalar(
        sa.select(Session)
        .where(
            Session.id == session_id,
            Session.revoked_at.is_(None),
            Session.expires_at > sa.func.now(),
        )
        .with_for_update()
    )


async def _account(session: AsyncSession, row: Session) -> Account:
    account = await session.get(Account, row.account_id)
    assert account is not None  # sessions cascade with their account
    return account


async def revoke(
    session: AsyncSession,
    session_id: uuid.UUID,
    *,
    reason: str,
    account_id: uuid.UUID | None = None,
) -> bool:
    """Revoke a session (only ``account_id``'s when given); False when there was none."""
    query = (
        sa.update(Session)
        .where(Session.id == session_id, Session.revoked_at.is_(None))
        .values(revoked_at=sa.func.now(), revoke_reason=reason)
        .returning(Session.id)
    )
    if account_id is not None:
        query = query.where(Session.account_id == account_id)
    return await session.scalar(query) is not None


async def session_of_refresh_token(session: AsyncSession, refresh_token: str) -> uuid.UUID | None:
    return await session.scalar(
        sa.select(RefreshToken.session_id).where(RefreshToken.token_hash == digest(refresh_token))
    )


async def active_sessions(session: AsyncSession, account_id: uuid.UUID) -> list[Session]:
    return list(
        await session.scalars(
            sa.select(Session)
            .where(
                Session.account_id == account_id,
                Session.revoked_at.is_(None),
                Session.expires_at > sa.func.now(),
            )
            .order_by(Session.last_used_at.desc())
        )
    )
