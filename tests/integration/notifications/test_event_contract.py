"""Consumer side of the event contract: the notifications consumer handles a payload
built from each model it subscribes to, and refuses a major version it does not know."""

from __future__ import annotations

import uuid

import pytest

from calisera.bookings.events import BOOKING_EVENTS
from calisera.core.consumers import Delivered, WorkerContext, deliver
from calisera.core.database import Database
from calisera.core.events import UnsupportedEventVersion, new_event
from calisera.notifications.consumers import consumer
from calisera.providers.events import PROVIDER_CREATED, PROVIDER_UPDATED, ProviderData
from tests.integration.pipeline.conftest import booking_event, query


@pytest.fixture
async def ctx(settings):
    configured = settings.with_changes(dev_mailbox=True)
    db = Database(configured.database_url, pool_size=2)
    try:
        yield WorkerContext(settings=configured, sessionmaker=db.sessionmaker)
    finally:
        await db.dispose()


def _provider_event(event_type, provider_id: uuid.UUID, version: int = 1):
    return new_event(
        event_type,
        source="providers",
        aggregate_id=provider_id,
        aggregate_version=version,
        provider_id=provider_id,
        data=ProviderData(
            id=provider_id,
            slug="studio-contract",
            name=f"Studio v{version}",
            timezone="Europe/Lisbon",
            locale="en",
            owner_email="owner@example.com",
            booking_url="https://book.example.test/p/studio-contract",
            qr_code_url="https://book.example.test/api/v1/providers/x/qr",
        ),
    )


@pytest.mark.parametrize("type_", sorted(BOOKING_EVENTS))
async def test_each_booking_event_built_from_its_model_is_handled(ctx, database_url, type_):
    event = booking_event(type_, version=2)
    assert await deliver(consumer(ctx.settings), ctx.sessionmaker, event) is Delivered.HANDLED
    [(version,)] = query(
        database_url,
        "SELECT version FROM notifications.booking_state WHERE booking_id = %s",
        event.aggregate_id,
    )
    assert version == 2
    recipients = query(
        database_url, "SELECT recipient FROM notifications.messages WHERE event_id = %s", event.id
    )
    told = type_ in (
        "booking.created",
        "booking.rescheduled",
        "booking.cancelled",
        "booking.requested",
        "booking.confirmed",
        "booking.declined",
        "booking.expired",
    )
    assert (("ana@example.test",) in recipients) is told


@pytest.mark.parametrize("event_type", [PROVIDER_CREATED, PROVIDER_UPDATED])
async def test_each_provider_event_built_from_its_model_is_handled(ctx, database_url, event_type):
    provider_id = uuid.uuid4()
    event = _provider_event(event_type, provider_id)
    assert await deliver(consumer(ctx.settings), ctx.sessionmaker, event) is Delivered.HANDLED
    rows = query(
        database_url,
        "SELECT slug, owner_email, timezone FROM notifications.providers WHERE provider_id = %s",
        provider_id,
    )
    assert rows == [("studio-contract", "owner@example.com", "Europe/Lisbon")]


@pytest.mark.parametrize(
    "event",
    [
        booking_event().model_copy(update={"version": 2}),
        _provider_event(PROVIDER_UPDATED, uuid.uuid4()).model_copy(update={"version": 2}),
    ],
    ids=["booking", "provider"],
)
async def test_an_unknown_major_version_is_refused_as_permanent(ctx, database_url, event):
    with pytest.raises(UnsupportedEventVersion):
        await deliver(consumer(ctx.settings), ctx.sessionmaker, event)
    claimed = query(
        database_url, "SELECT 1 FROM notifications.processed_events WHERE event_id = %s", event.id
    )
    assert claimed == []  # rolled back: a consumer that knows version 2 can replay it
