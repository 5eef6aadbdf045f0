"""E-mails to a customer on a waitlist (events of the bookings service): on joining, their
place in line and the link to leave; on ``waitlist.offered``, seats are held for them,
with the claim link and its deadline; when the offer expired unclaimed, that it went to
the next in line.

Recorded like booking messages, one per (event, channel, recipient), so a redelivered
event sends nothing twice. The event carries the entry's token sealed
(:mod:`calisera.core.sealing`); the message keeps it sealed in its payload and unseals
it only to render the link (:func:`render_offer`), never storing it in the clear.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.events import (
    WAITLIST_EXPIRED,
    WAITLIST_JOINED,
    WAITLIST_OFFERED,
    WaitlistData,
)
from calisera.core.events import EventEnvelope, EventType
from calisera.core.sealing import WAITLIST_TOKEN_PURPOSE, unseal
from calisera.notifications.deliveries import queue_messages

TEMPLATE = "waitlist"
KINDS: dict[str, tuple[EventType[WaitlistData], str]] = {
    WAITLIST_JOINED.name: (WAITLIST_JOINED, "waitlist_joined"),
    WAITLIST_OFFERED.name: (WAITLIST_OFFERED, "waitlist_offered"),
    WAITLIST_EXPIRED.name: (WAITLIST_EXPIRED, "waitlist_expired"),
}
"""The waitlist events a customer is told about, and the message kind of each (leaving
and claiming are the customer's own doing: the page said it)."""
EVENT_TYPES = tuple(KINDS)


async def handle_waitlist_event(
    session: AsyncSession, event: EventEnvelope, *, email: bool
) -> None:
    known = KINDS.get(event.type)
    if known is None or not email:
        return
    event_type, kind = known
    data = event_type.parse(event)
    if not data.customer.email:
        return
    payload: dict[str, Any] = {**data.model_dump(mode="json"), "kind": kind}
    await queue_messages(
        session,
        event.id,
        data.provider_id,
        None,
        payload,
        [("email", data.customer.email, TEMPLATE)],
    )


def claim_url(payload: dict[str, Any], public_url: str, secret: str | None) -> str:
    """The booking page's claim screen, with the entry's token when it can be unsealed
    (without it the page asks for the link from this e-mail: nothing else opens it)."""
    slug = payload.get("provider_slug") or payload.get("provider_id")
    url = f"{public_url.rstrip('/')}/p/{slug}/waitlist/{payload.get('entry_id')}"
    sealed = payload.get("claim_token_sealed")
    token = unseal(secret, WAITLIST_TOKEN_PURPOSE, sealed) if secret and sealed else None
    return url + (f"?{urlencode({'token': token})}" if token else "")
