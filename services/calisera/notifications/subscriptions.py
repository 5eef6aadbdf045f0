"""Web push subscriptions of a provider's devices and the platform's VAPID key pair."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.errors import Conflict
from calisera.notifications.channels import (
    new_vapid_keys,
)
from calisera.notifications.models import (
    push_subscriptions,
    vapid_keys,
)


class PushEndpointTaken(Conflict):
    """The endpoint is subscribed for another provider: a subscription belongs to the
    provider it was made for, and only that provider's owner (or the admin) removes it."""

    slug, title = "push-endpoint-taken", "This push endpoint belongs to another provider"


async def subscribe(
    session: AsyncSession, provider_id: uuid.UUID, endpoint: str, p256dh: str, auth: str
) -> uuid.UUID:
    """Subscribe (or refresh the keys of) ``endpoint`` for ``provider_id``.

    The upsert only updates a row of the same provider, in one statement, so two tenants
    racing for one endpoint cannot move it between them; the loser gets a 409.
    """
    values = {"p256dh": p256dh, "auth": auth}
    row = (
        await session.execute(
            insert(push_subscriptions)
            .values(id=uuid.uuid4(), endpoint=endpoint, provider_id=provider_id, **values)
            .on_conflict_do_update(
                index_elements=["endpoint"],
                set_=values,
                where=push_subscriptions.c.provider_id == provider_id,
            )
            .returning(push_subscriptions.c.id)
        )
    ).first()
    if row is None:
        raise PushEndpointTaken(
            "This browser is subscribed for another provider; unsubscribe it there first."
        )
    return uuid.UUID(str(row.id))


async def unsubscribe(session: AsyncSession, provider_id: uuid.UUID, endpoint: str) -> bool:
    result = await session.execute(
        push_subscriptions.delete().where(
            push_subscriptions.c.provider_id == provider_id,
            push_subscriptions.c.endpoint == endpoint,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def vapid_key_pair(session: AsyncSession) -> tuple[str, str]:
    """(private PEM, public key); generated once and kept in the schema."""
    row = (await session.execute(sa.select(vapid_keys).where(vapid_keys.c.id == 1))).first()
    if row is None:
        private_pem, public = new_vapid_keys()
        await session.execute(
            insert(vapid_keys)
            .values(id=1, private_pem=private_pem, public_key=public)
            .on_conflict_do_nothing()
        )
        row = (await session.execute(sa.select(vapid_keys).where(vapid_keys.c.id == 1))).one()
    return row.private_pem, row.public_key
