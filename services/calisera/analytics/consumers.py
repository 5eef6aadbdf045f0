"""The analytics queue: booking, service, availability and provider events into facts
and aggregates. Idempotent twice over: the event id is claimed in
``analytics.processed_events``, and a booking observation is keyed by booking, version
and type, so a re-sent event with a new id has no second effect either.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.analytics import service
from calisera.analytics.models import processed_events
from calisera.core.consumers import Consumer
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings

EVENT_TYPES = ("booking.*", "service.*", "availability.updated", "provider.*")


def configured_secret(settings: Settings) -> bytes | None:
    """The customer-hash key: ``CALISERA_ANALYTICS_KEY``, else derived from the admin
    token; None means "use the random key stored in the analytics schema"."""
    if settings.analytics_key is not None:
        return settings.analytics_key.get_secret_value().encode()
    if settings.admin_token_value:
        return hmac.new(
            settings.admin_token_value.encode(), b"calisera.analytics.customer-key", hashlib.sha256
        ).digest()
    return None


def consumer(settings: Settings) -> Consumer:
    """The ``analytics`` consumer, configured from the worker's ``settings``."""
    secret = configured_secret(settings)

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        if envelope.type.startswith("booking."):
            key = secret if secret is not None else await service.stored_secret(session)
            await service.record_booking_event(session, envelope, key)
        elif envelope.type.startswith("service."):
            await service.record_service_event(session, envelope)
        elif envelope.type == "availability.updated":
            await service.record_availability(session, envelope)
        elif envelope.type.startswith("provider."):
            await service.record_provider_event(session, envelope)

    return Consumer(
        name="analytics", event_types=EVENT_TYPES, handle=handle, processed=processed_events
    )
