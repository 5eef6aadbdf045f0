"""Sign-in links sent by e-mail: single use, valid 15 minutes, stored hashed.

Asking for a link answers the same whether or not the address has an account (no
account enumeration): a link goes to every address asked for, and following it proves
the address, so the first sign-in creates the account.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.errors import BadRequest
from calisera.notifications.schemas import TransactionalEmail
from calisera.users.accounts import normalise_email
from calisera.users.models import MagicLink
from calisera.users.opaque_tokens import digest, new_opaque_token

LINK_TTL = timedelta(minutes=15)
CALLBACK_PATH = "/auth/magic-link/callback"


class InvalidMagicLink(BadRequest):
    slug, title = "invalid-magic-link", "This sign-in link is unknown, used or expired"


async def create_link(session: AsyncSession, email: str, return_to: str) -> str:
    token, token_hash = new_opaque_token()
    now = datetime.now(UTC)
    await session.execute(
        sa.delete(MagicLink).where(MagicLink.expires_at < now - timedelta(days=1))
    )
    session.add(
        MagicLink(
            token_hash=token_hash,
            email=normalise_email(email),
            return_to=return_to,
            created_at=now,
            expires_at=now + LINK_TTL,
        )
    )
    await session.flush()
    return token


async def consume_link(session: AsyncSession, token: str) -> MagicLink:
    """The link's row, marked used; a second use, or a use after 15 minutes, is refused."""
    link: MagicLink | None = await session.scalar(
        sa.update(MagicLink)
        .where(
            MagicLink.token_hash == digest(token),
            MagicLink.used_at.is_(None),
            MagicLink.expires_at > sa.func.now(),
        )
        .values(used_at=sa.func.now())
        .returning(MagicLink)
    )
    if link is None:
        raise InvalidMagicLink("Ask for a new sign-in link: this one is used or expired.")
    return link


def link_email(public_url: str, email: str, token: str) -> TransactionalEmail:
    url = f"{public_url.rstrip('/')}{CALLBACK_PATH}?{urlencode({'token': token})}"
    minutes = int(LINK_TTL.total_seconds() // 60)
    text = (
        f"Sign in to Calisera:\n\n{url}\n\n"
        f"The link works once, for {minutes} minutes. "
        "If you did not ask for it, ignore this e-mail."
    )
    html = (
        f'<p><a href="{escape(url)}">Sign in to Calisera</a></p>'
        f"<p>The link works once, for {minutes} minutes. "
        "If you did not ask for it, ignore this e-mail.</p>"
    )
    return TransactionalEmail(to=email, subject="Your Calisera sign-in link", text=text, html=html)
