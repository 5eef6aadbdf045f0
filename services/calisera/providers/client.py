"""The typed client other services (listing, bookings) and the operator use.

``schedule_config`` keeps the last :class:`ScheduleConfig` of each service in memory
and revalidates it with ``If-None-Match`` on every call: a 304 costs one indexed
lookup on the providers side and no JSON. Admin operations (``upsert_provider``,
``set_suspended``) are what the Kubernetes operator reconciles tenants with.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

import httpx

from calisera.core.clients import ServiceClient
from calisera.core.errors import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    Problem,
    Unauthorized,
)
from calisera.core.platform import Platform
from calisera.providers.schemas import ScheduleConfig

_PROBLEMS: dict[int, type[Problem]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    409: Conflict,
    422: InvalidInput,
}


def raise_for_problem(response: httpx.Response) -> None:
    """Turn a 4xx answer into the same :class:`Problem` the providers service raised."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    errors = [
        FieldError(str(e.get("field", "")), str(e.get("message", "")))
        for e in body.get("errors", [])
        if isinstance(e, dict)
    ]
    cls = _PROBLEMS.get(response.status_code, BadRequest)
    raise cls(body.get("detail") or f"providers answered {response.status_code}", errors=errors)


class ProvidersClient(ServiceClient):
    service = "providers"
    cache_size = 2048

    def __init__(self, platform: Platform, **kw: Any):
        super().__init__(platform, **kw)
        self._schedules: OrderedDict[uuid.UUID, ScheduleConfig] = OrderedDict()

    async def schedule_config(self, service_id: uuid.UUID) -> ScheduleConfig:
        """The service's schedule read model; raises ``NotFound`` for an unknown service."""
        cached = self._schedules.get(service_id)
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
        raise_for_problem(response)
        config = ScheduleConfig.model_validate_json(response.content)
        self._schedules[service_id] = config
        self._schedules.move_to_end(service_id)
        while len(self._schedules) > self.cache_size:
            self._schedules.popitem(last=False)
        return config

    async def get_provider(self, provider_id: uuid.UUID | str) -> dict[str, Any]:
        """The full provider record (admin view)."""
        response = await self.request("GET", f"/api/v1/providers/{provider_id}")
        raise_for_problem(response)
        body: dict[str, Any] = response.json()
        return body

    async def get_provider_by_slug(self, slug: str) -> dict[str, Any] | None:
        """The public profile by slug (the admin sees suspended ones too), or None."""
        try:
            response = await self.request("GET", f"/api/v1/providers/by-slug/{slug}")
        except NotFound:
            return None
        raise_for_problem(response)
        body: dict[str, Any] = response.json()
        return body

    async def upsert_provider(
        self, slug: str, name: str, timezone: str, owner_email: str, **fields: Any
    ) -> dict[str, Any]:
        """Create the provider with ``slug`` or bring it to these values; idempotent.

        An update that changes nothing writes nothing (no event, same version).
        """
        desired = {"name": name, "timezone": timezone, "owner_email": owner_email, **fields}
        for _ in range(3):
            existing = await self.get_provider_by_slug(slug)
            if existing is None:
                response = await self.request(
                    "POST", "/api/v1/providers", json={"slug": slug, **desired}
                )
                if response.status_code == 409:
                    continue  # created concurrently: update it instead
                raise_for_problem(response)
                created: dict[str, Any] = response.json()
                return created
            response = await self.request(
                "PATCH", f"/api/v1/providers/{existing['id']}", json=desired
            )
            raise_for_problem(response)
            updated: dict[str, Any] = response.json()
            return updated
        raise Conflict(f"The slug '{slug}' keeps changing hands; try again.")

    async def set_suspended(self, provider_id: uuid.UUID | str, suspended: bool) -> dict[str, Any]:
        response = await self.request(
            "PATCH", f"/api/v1/providers/{provider_id}", json={"suspended": suspended}
        )
        raise_for_problem(response)
        body: dict[str, Any] = response.json()
        return body
