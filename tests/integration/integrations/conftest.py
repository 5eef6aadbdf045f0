"""Fixtures of the integrations tests: a provider with a bookable service, the
integrations consumer run in this process against the test database, a receiver."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from calisera.core.consumers import Consumer, WorkerContext
from calisera.core.database import Database
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from tests.integration.integrations.receiver import Receiver
from tests.peers.radicale_server import Radicale

OWNER = "owner@example.com"


@dataclass
class Provider:
    id: str
    service_id: str
    headers: dict[str, str]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app's too: short retry windows, loopback allowed (receivers, Radicale)."""
    return settings.with_changes(
        integrations_allow_private_networks=True,
        webhook_retry_base_seconds=0.2,
        webhook_retry_window_seconds=3.0,
        webhook_timeout_seconds=1.0,
        caldav_timeout_seconds=3.0,
        relay_visibility_timeout=3.0,
    )


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings


@pytest.fixture
async def worker_db(fast_settings: Settings) -> AsyncIterator[Database]:
    assert fast_settings.database_url
    db = Database(fast_settings.database_url, pool_size=4, max_overflow=4)
    yield db
    await db.dispose()


@pytest.fixture
def integrations_consumer(fast_settings: Settings) -> Consumer:
    from calisera.integrations.consumers import consumer

    return consumer(fast_settings)


@pytest.fixture
def consume(
    integrations_consumer: Consumer, worker_db: Database, fast_settings: Settings
) -> Callable[[EventEnvelope], Any]:
    """Handle an event as the integrations worker does (transaction, then after-commit
    unless nothing was queued): :func:`calisera.processes.worker.consume` itself."""
    from calisera.processes.worker import consume as worker_consume

    async def run(event: EventEnvelope) -> bool:
        ctx = WorkerContext(settings=fast_settings, sessionmaker=worker_db.sessionmaker)
        return await worker_consume(ctx, integrations_consumer, event) == "handled"

    return run


@pytest.fixture
async def provider(
    client: httpx.AsyncClient, admin_headers: dict[str, str], auth_headers: Any
) -> Provider:
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    created = await client.post(
        "/api/v1/providers",
        json={
            "slug": slug,
            "name": "Studio Aurora",
            "timezone": "Europe/Berlin",
            "owner_email": OWNER,
        },
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    provider_id = created.json()["id"]
    service = await client.post(
        f"/api/v1/providers/{provider_id}/services",
        json={"name": "Haircut", "kind": "simple", "duration_minutes": 60},
        headers=admin_headers,
    )
    assert service.status_code == 201, service.text
    week = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(7)]
    put = await client.put(
        f"/api/v1/providers/{provider_id}/availability",
        json={"weekly": week},
        headers=admin_headers,
    )
    assert put.status_code == 200, put.text
    return Provider(provider_id, service.json()["id"], auth_headers(OWNER))


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    server = Radicale(tmp_path / "radicale").start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver().start()
    yield made
    made.stop()


from tests.integration.pipeline.conftest import make_pipeline  # noqa: E402, F401
