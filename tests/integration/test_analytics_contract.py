"""The consumer side of the event contract: analytics handles every payload the
producers' models can build, and refuses a major version it does not know.

Payloads come from polyfactory factories of the producers' ``events.py`` models (random
but valid values, a fixed seed), wrapped by :func:`calisera.core.events.new_event` as a
producer does; the outcome is checked in analytics' own tables and dashboard.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from polyfactory.factories.pydantic_factory import ModelFactory

from calisera.analytics.consumers import consumer
from calisera.analytics.models import bookings, processed_events, providers, services
from calisera.bookings.events import BOOKING_EVENTS, BookingData
from calisera.core.consumers import Consumer, deliver
from calisera.core.database import Database
from calisera.core.events import EventEnvelope, EventType, UnsupportedEventVersion, new_event
from calisera.providers.events import (
    AVAILABILITY_UPDATED,
    PROVIDER_CREATED,
    PROVIDER_DELETED,
    PROVIDER_UPDATED,
    SERVICE_ARCHIVED,
    SERVICE_CREATED,
    SERVICE_UPDATED,
    AvailabilityData,
    ProviderData,
    ServiceData,
)

PROVIDER = uuid.UUID("00000000-0000-4000-8000-00000000c0de")


class BookingDataFactory(ModelFactory[BookingData]):
    __random_seed__ = 12
    provider_id = PROVIDER


class ProviderDataFactory(ModelFactory[ProviderData]):
    __random_seed__ = 12
    id = PROVIDER
    timezone = "America/New_York"


class ServiceDataFactory(ModelFactory[ServiceData]):
    __random_seed__ = 12
    provider_id = PROVIDER


class AvailabilityDataFactory(ModelFactory[AvailabilityData]):
    __random_seed__ = 12


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=2, max_overflow=0)
    yield database
    await database.dispose()


@pytest.fixture
def analytics(settings: Any) -> Consumer:
    return consumer(settings)


def produced(event_type: EventType[Any], data: Any, aggregate_id: uuid.UUID) -> EventEnvelope:
    source = "bookings" if event_type.name.startswith("booking.") else "providers"
    return new_event(
        event_type,
        data=data,
        source=source,
        aggregate_id=aggregate_id,
        aggregate_version=1,
        provider_id=PROVIDER,
    )


async def rows(db: Database, table: sa.Table, **where: Any) -> list[Any]:
    async with db.sessionmaker() as session:
        query = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
        return list(await session.execute(query))


@pytest.mark.parametrize("event_type", list(BOOKING_EVENTS.values()), ids=lambda t: t.name)
async def test_every_booking_event_the_model_builds_becomes_a_booking_fact(
    event_type: EventType[BookingData], analytics: Consumer, db: Database
) -> None:
    data = BookingDataFactory.build()
    assert await deliver(analytics, db.sessionmaker, produced(event_type, data, data.booking_id))
    (fact,) = await rows(db, bookings, booking_id=data.booking_id)
    assert (fact.provider_id, fact.service_id, fact.seats) == (
        PROVIDER,
        data.service_id,
        data.seats,
    )
    assert fact.customer_key and data.customer.email not in str(tuple(fact))


PROVIDERS_EVENTS: list[tuple[EventType[Any], type[ModelFactory[Any]]]] = [
    (PROVIDER_CREATED, ProviderDataFactory),
    (PROVIDER_UPDATED, ProviderDataFactory),
    (PROVIDER_DELETED, ProviderDataFactory),
    (SERVICE_CREATED, ServiceDataFactory),
    (SERVICE_UPDATED, ServiceDataFactory),
    (SERVICE_ARCHIVED, ServiceDataFactory),
    (AVAILABILITY_UPDATED, AvailabilityDataFactory),
]


@pytest.mark.parametrize(
    ("event_type", "factory"), PROVIDERS_EVENTS, ids=[t.name for t, _ in PROVIDERS_EVENTS]
)
async def test_every_providers_event_the_model_builds_is_kept_and_the_dashboard_answers(
    event_type: EventType[Any],
    factory: type[ModelFactory[Any]],
    analytics: Consumer,
    db: Database,
    client: Any,
    admin_headers: dict[str, str],
) -> None:
    data = factory.build()
    aggregate = data.id if isinstance(data, ServiceData) else PROVIDER
    if event_type is PROVIDER_DELETED:  # something to erase first
        assert await deliver(analytics, db.sessionmaker, produced(PROVIDER_CREATED, data, PROVIDER))
        assert len(await rows(db, providers, provider_id=PROVIDER)) == 1
    assert await deliver(analytics, db.sessionmaker, produced(event_type, data, aggregate))
    if isinstance(data, ServiceData):
        (row,) = await rows(db, services, service_id=data.id)
        assert (row.name, row.kind, row.capacity) == (data.name, data.kind, max(1, data.capacity))
        archived = event_type is SERVICE_ARCHIVED or not data.active
        assert (row.archived_at is not None) == archived
    elif event_type is PROVIDER_DELETED:
        # the erasure: nothing of the provider is kept (the dashboard then answers empty)
        assert await rows(db, providers, provider_id=PROVIDER) == []
    else:
        (row,) = await rows(db, providers, provider_id=PROVIDER)
        if isinstance(data, ProviderData):
            assert (row.name, row.timezone) == (data.name, data.timezone)
        else:
            assert row.availability == data.model_dump(mode="json")
    response = await client.get(
        f"/api/v1/analytics/providers/{PROVIDER}/summary",
        params={"from": "2027-03-01", "to": "2027-03-31"},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text


async def test_an_unknown_major_version_is_refused_and_nothing_is_recorded(
    analytics: Consumer, db: Database
) -> None:
    data = BookingDataFactory.build()
    event = produced(BOOKING_EVENTS["booking.created"], data, data.booking_id)
    with pytest.raises(UnsupportedEventVersion, match=r"booking\.created version 2"):
        await deliver(analytics, db.sessionmaker, event.model_copy(update={"version": 2}))
    assert await rows(db, processed_events, event_id=event.id) == []
    assert await rows(db, bookings, booking_id=data.booking_id) == []


async def test_an_unknown_type_of_a_consumed_family_is_claimed_and_ignored(
    analytics: Consumer, db: Database
) -> None:
    event = EventEnvelope(
        type="booking.held",
        source="bookings",
        aggregate_id=uuid.uuid4(),
        aggregate_version=1,
        occurred_at=datetime(2027, 3, 1, tzinfo=UTC),
        provider_id=PROVIDER,
        data={"anything": "new"},
    )
    assert analytics.wants(event.type)
    assert await deliver(analytics, db.sessionmaker, event)
    assert not await deliver(analytics, db.sessionmaker, event)
    assert await rows(db, bookings) == []
