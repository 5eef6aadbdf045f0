"""The analytics queue: booking, service, availability and provider events into facts
and aggregates. Idempotent twice over: the event id is claimed in
``analytics.processed_events``, and a booking observation is keyed by booking, version
and type, so a re-sent event with a new id has no second effect either.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.analytics import ingest
from calisera.analytics.models import processed_events
from calisera.bookings.events import BOOKING_EVENTS
from calisera.core.consumers import Consumer
from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.providers.events import (
    AVAILABILITY_UPDATED,
    PROVIDER_CREATED,
    PROVIDER_DELETED,
    PROVIDER_UPDATED,
    SERVICE_ARCHIVED,
    SERVICE_CREATED,
    SERVICE_UPDATED,
)

EVENT_TYPES = ("booking.*", "service.*", "availability.updated", "provider.*")
"""What the queue takes; a type of these families that analytics does not know (a newer
producer's) is claimed and ignored, while a known type with an unknown major version
is refused (:class:`calisera.core.events.UnsupportedEventVersion`, dead-lettered)."""
SERVICE_EVENTS = {t.name: t for t in (SERVICE_CREATED, SERVICE_UPDATED, SERVICE_ARCHIVED)}
PROVIDER_EVENTS = {t.name: t for t in (PROVIDER_CREATED, PROVIDER_UPDATED, PROVIDER_DELETED)}


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
        if envelope.type in BOOKING_EVENTS:
            booking = BOOKING_EVENTS[envelope.type].parse(envelope)
            key = secret if secret is not None else await ingest.stored_secret(session)
            await ingest.record_booking_event(session, envelope, booking, key)
        elif envelope.type in SERVICE_EVENTS:
            service = SERVICE_EVENTS[envelope.type].parse(envelope)
            await ingest.record_service_event(session, envelope, service)
        elif envelope.type == AVAILABILITY_UPDATED.name:
            hours = AVAILABILITY_UPDATED.parse(envelope)
            await ingest.record_availability(session, envelope, hours)
        elif envelope.type == PROVIDER_DELETED.name:
            provider = PROVIDER_DELETED.parse(envelope)
            await ingest.erase_provider(session, provider.id)
        elif envelope.type in PROVIDER_EVENTS:
            provider = PROVIDER_EVENTS[envelope.type].parse(envelope)
            await ingest.record_provider_event(session, envelope, provider)

    return Consumer(
        name="analytics", event_types=EVENT_TYPES, handle=handle, processed=processed_events
    )
