"""Who acts on a booking: the platform admin, the provider's owner, or the customer
holding the booking's manage token."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal

from calisera.bookings.errors import BookingNotFound
from calisera.core.ownership import OwnedProvider

ActorKind = Literal["customer", "owner", "admin", "system"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None = None

    @classmethod
    def of(cls, owned: OwnedProvider) -> Actor:
        """The admin or owner that :func:`calisera.core.ownership.authorize_provider` let in."""
        if owned.role == "admin":
            return cls("admin", owned.principal.subject)
        return cls("owner", owned.actor_id)


SYSTEM = Actor("system")
"""Who expires an unanswered request."""


def hash_manage_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def customer_actor(row: Any, manage_token: str | None) -> Actor:
    """The customer, if ``manage_token`` is the booking's; anyone else gets 404, so a
    booking's existence is not revealed."""
    if manage_token and hmac.compare_digest(
        hash_manage_token(manage_token), bytes(row.manage_token_hash)
    ):
        return Actor("customer", row.customer_email)
    raise BookingNotFound()
