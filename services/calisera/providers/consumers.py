"""The providers queue: ``account.deleted`` removes every provider the deleted account
owned (by e-mail or subject), each announced as ``provider.deleted`` in the same
transaction, on which the other services erase that provider's data. The published
outbox rows of those providers (their profile, the owner's e-mail) go too."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.auth import ADMIN
from calisera.core.consumers import Consumer
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.providers import profiles
from calisera.providers.models import Provider, outbox, processed_events
from calisera.users.events import ACCOUNT_DELETED


def consumer(settings: Settings) -> Consumer:
    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        account = ACCOUNT_DELETED.parse(envelope)
        owned = list(
            await session.scalars(
                sa.select(Provider.id).where(
                    sa.or_(
                        sa.func.lower(Provider.owner_email) == account.email.lower(),
                        Provider.owner_subject == str(account.account_id),
                    )
                )
            )
        )
        for provider_id in owned:
            await profiles.delete_provider(session, provider_id, ADMIN, settings)
        if owned:
            await session.execute(
                outbox.delete().where(
                    outbox.c.provider_id.in_(owned), outbox.c.published_at.is_not(None)
                )
            )

    return Consumer("providers", (ACCOUNT_DELETED.name,), handle, processed_events)
