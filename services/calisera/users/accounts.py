"""Accounts and the identities that sign into them.

An account exists only for an e-mail address someone has proven they control: a
magic link followed, or an identity provider asserting ``email_verified``. Identities
link to an existing account by that verified address only; an unverified address never
links (anyone can claim any address at some identity provider).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.auth import Principal
from calisera.core.errors import Forbidden
from calisera.users.models import Account, Identity


class UnverifiedEmail(Forbidden):
    slug, title = "unverified-email", "The identity provider did not verify this e-mail"


@dataclass(frozen=True)
class AssertedIdentity:
    """What an identity provider said about the person (from a validated ID token)."""

    idp: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(
        sa.select(Account).where(sa.func.lower(Account.email) == normalise_email(email))
    )


async def account_for_verified_email(
    session: AsyncSession, email: str, name: str | None = None
) -> Account:
    """The account of ``email`` (proven just now), created on first sign-in.

    ``INSERT ... ON CONFLICT DO NOTHING`` first, so two first sign-ins at once end in
    the same account instead of a unique violation."""
    address = normalise_email(email)
    await session.execute(
        insert(Account)
        .values(id=uuid.uuid4(), email=address, name=name)
        .on_conflict_do_nothing(index_elements=[sa.text("lower(email)")])
    )
    account = await account_by_email(session, address)
    assert account is not None
    return account


async def account_for_identity(session: AsyncSession, asserted: AssertedIdentity) -> Account:
    """The account an OIDC identity signs into: the one it is linked to, or the one of
    its verified e-mail (linking it), or a new one."""
    linked = await session.scalar(
        sa.select(Account)
        .join(Identity, Identity.account_id == Account.id)
        .where(Identity.idp == asserted.idp, Identity.subject == asserted.subject)
    )
    if linked is not None:
        return linked
    if not asserted.email or not asserted.email_verified:
        raise UnverifiedEmail(
            "Your identity provider did not confirm your e-mail address; "
            "sign in with an e-mail link instead."
        )
    account = await account_for_verified_email(session, asserted.email, asserted.name)
    await session.execute(
        insert(Identity)
        .values(
            id=uuid.uuid4(),
            account_id=account.id,
            idp=asserted.idp,
            subject=asserted.subject,
            email=normalise_email(asserted.email),
        )
        .on_conflict_do_nothing(constraint="idp_subject")
    )
    return account


async def mark_signed_in(session: AsyncSession, account: Account) -> None:
    account.last_sign_in_at = datetime.now(UTC)
    await session.flush()


async def account_of(session: AsyncSession, principal: Principal) -> Account | None:
    """The account behind a user principal: by subject (Calisera tokens carry the account
    id), else by e-mail (development tokens from ``calisera token --email``)."""
    principal.require_authenticated()
    if principal.kind != "user":
        return None
    try:
        account_id = uuid.UUID(principal.subject or "")
    except ValueError:
        return await account_by_email(session, principal.email) if principal.email else None
    return await session.get(Account, account_id)
