"""The events the users service emits: ``account.deleted``.

When a person deletes their account, the users service erases its own rows at once and
tells the others in the same transaction (its outbox): the providers service removes
the providers that account owns (each then announced as ``provider.deleted``, on which
every service erases that provider's data and its customers' personal data).
"""

from __future__ import annotations

import uuid

from calisera.core.events import EventData, EventType

SOURCE = "users"


class AccountDeletedData(EventData):
    """Who the account was: what the other services know an owner by."""

    account_id: uuid.UUID
    email: str


ACCOUNT_DELETED = EventType("account.deleted", AccountDeletedData)
