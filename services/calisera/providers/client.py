"""The typed client other services use to read the providers service.

``schedule_config`` keeps the last :class:`ScheduleConfig` of each service in memory
and revalidates it with ``If-None-Match`` on every call: a 304 costs one indexed
lookup on the providers side and no JSON. Where the providers service runs in the same
process (``calisera up``) the same revalidation reads the database directly, on the
reader pool the endpoint uses: the in-process HTTP round trip (its middleware, routing
and ASGI transport) was a sixth of ``up``'s CPU per booking. ``owner_of`` is the
:class:`calisera.core.ownership.OwnerDirectory` of every process
(:func:`provider_owners`): who owns a provider, kept for a few seconds so a burst of
an owner's requests costs one lookup.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from calisera.core.clients import ServiceClient, raise_for_problem
from calisera.core.database import Database
from calisera.core.errors import NotFound
from calisera.core.events import EventEnvelope
from calisera.core.ownership import ProviderOwner
from calisera.core.platform import Platform
from calisera.providers import schedule_read_model
from calisera.providers.schemas import ScheduleConfig

OWNER_TTL = 5.0
"""Seconds an owner lookup is reused (a change of owner is rare and admin-made)."""


class ProvidersClient(ServiceClient):
    service = "providers"
    cache_size = 2048

    def __init__(self, platform: Platform, *, local_reads: bool = True, **kw: Any):
        super().__init__(platform, **kw)
        local = platform.hosts("providers") and platform.settings.service_url("providers") is None
        self._local: Database | None = platform.db if local and local_reads else None
        self._schedules: OrderedDict[uuid.UUID, ScheduleConfig] = OrderedDict()
        self._owners: OrderedDict[uuid.UUID, tuple[float, ProviderOwner]] = OrderedDict()

    async def schedule_config(self, service_id: uuid.UUID) -> ScheduleConfig:
        """The service's schedule read model; raises ``NotFound`` for an unknown service."""
        cached = self._schedules.get(service_id)
        if self._local is not None:
            return await self._read_locally(service_id, cached)
        headers = {"If-None-Match": f'"{cached.version}"'} if cached else {}
        try:
            response = await self.request(
                "GET", f"/internal/v1/providers/services/{service_id}/schedule", headers=headers
            )
        except NotFound:
            self._schedules.pop(service_id, None)
            raise
        if response.status_code == 304 and cached is not None:
            self._schedules.move_to_end(service_id)
            return cached
        raise_for_problem(response, service=self.service)
        return self._remember(ScheduleConfig.model_validate_json(response.content))

    async def _read_locally(
        self, service_id: uuid.UUID, cached: ScheduleConfig | None
    ) -> ScheduleConfig:
        """The endpoint's revalidation without the HTTP round trip (same process)."""
        assert self._local is not None
        try:
            async with self._local.reader() as session, session.begin():
                if cached is not None:
                    version = await schedule_read_model.schedule_version(session, service_id)
                    if version == cached.version:
                        self._schedules.move_to_end(service_id)
                        return cached
                config = await schedule_read_model.schedule_config(session, service_id)
        except NotFound:
            self._schedules.pop(service_id, None)
            raise
        return self._remember(config)

    def _remember(self, config: ScheduleConfig) -> ScheduleConfig:
        service_id = config.service.id
        self._schedules[service_id] = config
        self._schedules.move_to_end(service_id)
        while len(self._schedules) > self.cache_size:
            self._schedules.popitem(last=False)
        return config

    async def provider_of(self, service_id: uuid.UUID) -> uuid.UUID:
        """The service's provider: from the cache when the service is known (a service
        never moves to another provider), else from :meth:`schedule_config`."""
        cached = self._schedules.get(service_id)
        if cached is not None:
            return cached.provider_id
        return (await self.schedule_config(service_id)).provider_id

    async def get_provider(self, provider_id: uuid.UUID | str) -> dict[str, Any]:
        """The full provider record (admin view)."""
        response = await self.request("GET", f"/api/v1/providers/{provider_id}")
        raise_for_problem(response, service=self.service)
        body: dict[str, Any] = response.json()
        return body

    async def owner_of(self, provider_id: uuid.UUID) -> ProviderOwner:
        """Who owns the provider (NotFound for an unknown one), cached :data:`OWNER_TTL`."""
        cached = self._owners.get(provider_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < OWNER_TTL:
            return cached[1]
        record = await self.get_provider(provider_id)
        owner = ProviderOwner(provider_id, record.get("owner_email"), record.get("owner_subject"))
        self._owners[provider_id] = (now, owner)
        while len(self._owners) > self.cache_size:
            self._owners.popitem(last=False)
        return owner

    def forget_owner(self, provider_id: uuid.UUID) -> None:
        self._owners.pop(provider_id, None)


@contextlib.asynccontextmanager
async def provider_owners(platform: Platform) -> AsyncIterator[None]:
    """Install :attr:`Platform.owners` where the providers service can be reached."""
    if platform.owners is not None or not (
        platform.hosts("providers") or platform.settings.service_url("providers")
    ):
        yield
        return
    client = ProvidersClient(platform)
    platform.owners = client

    async def forget(event: EventEnvelope) -> None:
        client.forget_owner(event.aggregate_id)

    # A change of owner or a deletion committed here takes effect at once.
    platform.db.committed_events.subscribe("providers.owners", ("provider.*",), forget)
    try:
        yield
    finally:
        platform.db.committed_events.unsubscribe(forget)
        platform.owners = None
        await client.aclose()
