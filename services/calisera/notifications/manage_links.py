"""Manage links: ``booking.created`` is the only event that carries the customer's manage
token, sealed (:mod:`calisera.core.sealing`). It is kept as it arrived, still sealed, in
``manage_tokens`` (one row per booking) even when the event itself is stale, and every
customer e-mail of the booking (confirmation, reschedule, reminder) unseals it when it
is rendered; payloads never carry it. A reschedule or reminder e-mail whose booking's
token has not arrived yet (events out of order) waits for it, at most
``MANAGE_LINK_WAIT``, then goes without the link. The plain token is never stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.sealing import MANAGE_TOKEN_PURPOSE, unseal
from calisera.notifications.models import (
    manage_tokens,
    messages,
)

MANAGE_LINK_WAIT = timedelta(minutes=2)
"""How long a reschedule or reminder e-mail waits for a late ``booking.created``'s token."""


MANAGE_LINK_RETRY = timedelta(seconds=2)


async def keep_manage_token(
    session: AsyncSession, booking_id: uuid.UUID, sealed: str | None
) -> None:
    """Keep the booking's sealed token (None: its ``booking.created`` carried none, there
    is nothing to wait for), and wake the customer e-mails that waited for it."""
    await session.execute(_KEEP, {"of_booking": booking_id, "token": sealed})


def _keep_statement() -> sa.Update:
    """One statement: keep the token, and only if it is new wake the e-mails waiting."""
    kept = (
        insert(manage_tokens)
        .values(booking_id=sa.bindparam("of_booking"), sealed=sa.bindparam("token"))
        .on_conflict_do_nothing()
        .returning(manage_tokens.c.booking_id)
        .cte("kept")
    )
    return (
        messages.update()
        .add_cte(kept)
        .where(
            messages.c.booking_id.in_(sa.select(kept.c.booking_id)),
            messages.c.channel == "email",
            messages.c.template == "customer",
            messages.c.status == "pending",
        )
        .values(next_attempt_at=sa.func.now())
    )


_KEEP = _keep_statement()


@dataclass(frozen=True)
class ManageLink:
    arrived: bool
    """``booking.created`` was seen (with or without a token): nothing more will come."""
    token: str | None


def unseal_link(
    booking_id: uuid.UUID | None, arrived: bool, sealed: str | None, secret: str | None
) -> ManageLink:
    """The manage link of one e-mail from its booking's ``manage_tokens`` row (read with
    the message: was it there, and its sealed token)."""
    if booking_id is None:
        return ManageLink(arrived=True, token=None)  # no booking: nothing to wait for
    token = unseal(secret, MANAGE_TOKEN_PURPOSE, sealed) if arrived and secret and sealed else None
    return ManageLink(arrived=arrived, token=token)
