"""The events the integrations service emits.

``integration.webhook_disabled``: an endpoint was switched off after its deliveries
failed for the whole retry window; the notifications service e-mails the provider's
owner about it (the only consumer so far).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from calisera.core.events import EventData, EventType

SOURCE = "integrations"


class WebhookDisabledData(EventData):
    endpoint_id: uuid.UUID
    provider_id: uuid.UUID
    url: str
    failing_since: datetime
    last_error: str | None = None


WEBHOOK_DISABLED = EventType("integration.webhook_disabled", WebhookDisabledData)
