"""What integrations keeps of providers: every booking event repeats the provider's name
and zone; a change is kept, a repetition writes nothing."""

from __future__ import annotations

import uuid

from calisera.core.database import Database
from calisera.integrations import read_models
from tests.integration.pipeline.conftest import query


async def test_provider_is_kept_and_changes_are_seen(worker_db: Database, database_url: str):
    provider_id = uuid.uuid4()

    async def remember(name: str | None, timezone: str | None) -> None:
        async with worker_db.sessionmaker() as session, session.begin():
            await read_models.remember_provider(session, provider_id, name, timezone)

    def kept() -> list[tuple]:
        return query(
            database_url,
            "SELECT name, timezone, xmin::text FROM integrations.providers WHERE provider_id = %s",
            provider_id,
        )

    await remember("Studio Aurora", "Europe/Berlin")
    [(name, zone, version)] = kept()
    assert (name, zone) == ("Studio Aurora", "Europe/Berlin")
    await remember("Studio Aurora", "Europe/Berlin")  # a repetition: no new row version
    assert kept() == [(name, zone, version)]
    await remember("Studio Borealis", "Europe/Berlin")
    assert kept()[0][:2] == ("Studio Borealis", "Europe/Berlin")
    await remember("Studio Borealis", None)
    assert kept()[0][:2] == ("Studio Borealis", None)
