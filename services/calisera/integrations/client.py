"""What other services call on the integrations service: busy time of connected
calendars (listing merges it into the bookings' busy time)."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx

from calisera.core.clients import ServiceClient, raise_for_problem
from calisera.integrations.schemas import ExternalBusy

BUSY_TIMEOUT = httpx.Timeout(2.0, connect=1.0)
"""Short: a slow integrations service must not slow listing down (it then goes on
without calendar busy time)."""


class IntegrationsClient(ServiceClient):
    service = "integrations"

    async def busy_time(
        self, provider_id: uuid.UUID, start: datetime, end: datetime
    ) -> ExternalBusy:
        response = await self.request(
            "GET",
            "/internal/v1/integrations/busy",
            params={
                "provider_id": str(provider_id),
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
            timeout=BUSY_TIMEOUT,
        )
        raise_for_problem(response, service=self.service)
        return ExternalBusy.model_validate_json(response.content)
