"""The listing cache: one behaviour for the in-process cache and Redis."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.exceptions import RedisError

from calisera.core.events import EventEnvelope
from calisera.core.settings import Settings
from calisera.listing.cache import Cache, InProcessCache, RedisCache
from calisera.listing.consumers import EVENT_TYPES, consumer, provider_of
from tests.conftest import peer_unavailable


def redis_url() -> str:
    url = os.environ.get("CALISERA_TEST_REDIS_URL")
    if not url:
        peer_unavailable("CALISERA_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    assert url
    return url


@pytest.fixture(params=["in-process", pytest.param("redis", marks=pytest.mark.redis)])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    made: Cache = InProcessCache() if request.param == "in-process" else RedisCache(redis_url())
    try:
        yield made
    finally:
        await made.aclose()


async def test_values_round_trip_and_expire(cache: Cache) -> None:
    key = f"test:{uuid.uuid4()}"
    assert await cache.get(key) is None
    await cache.set(key, b"answer", ttl=0.05)
    assert await cache.get(key) == b"answer"
    await asyncio.sleep(0.12)
    assert await cache.get(key) is None


async def test_generations_start_at_zero_and_only_grow(cache: Cache) -> None:
    provider = uuid.uuid4()
    other = uuid.uuid4()
    assert await cache.generation(provider) == 0
    assert await cache.bump(provider) == 1
    assert await cache.bump(provider) == 2
    assert await cache.generation(provider) == 2
    assert await cache.generation(other) == 0


def test_in_process_cache_is_bounded() -> None:
    cache = InProcessCache(max_entries=3)

    async def fill() -> list[bytes | None]:
        for i in range(5):
            await cache.set(f"k{i}", str(i).encode(), ttl=60)
        return [await cache.get(f"k{i}") for i in range(5)]

    assert asyncio.run(fill()) == [None, None, b"2", b"3", b"4"]


@pytest.mark.redis
async def test_redis_replicas_share_generations() -> None:
    url = redis_url()
    a, b = RedisCache(url), RedisCache(url)
    try:
        provider = uuid.uuid4()
        await a.bump(provider)
        assert await b.generation(provider) == 1
    finally:
        await a.aclose()
        await b.aclose()


async def test_unreachable_redis_misses_instead_of_failing() -> None:
    cache = RedisCache("redis://127.0.0.1:9/0")
    try:
        await cache.set("k", b"v", ttl=1)
        assert await cache.get("k") is None
        assert await cache.generation(uuid.uuid4()) == -1
        with pytest.raises(RedisError):
            await cache.bump(uuid.uuid4())
    finally:
        await cache.aclose()


def test_consumer_takes_no_events_without_a_shared_cache_to_invalidate() -> None:
    c = consumer(Settings().with_changes(cache_url=None))
    assert c.event_types == ()
    assert not c.wants("booking.created")


def test_consumer_takes_the_events_that_change_slots() -> None:
    c = consumer(Settings().with_changes(cache_url="redis://127.0.0.1:6379/0"))
    assert c.name == "listing" and c.processed is None
    assert c.event_types == EVENT_TYPES
    for kind in (
        "booking.created",
        "booking.cancelled",
        "booking.rescheduled",
        "provider.updated",
        "service.archived",
        "availability.updated",
    ):
        assert c.wants(kind)
    assert not c.wants("notification.sent")


def test_provider_events_name_their_provider() -> None:
    provider = uuid.uuid4()
    event = EventEnvelope(
        type="provider.updated",
        source="providers",
        aggregate_id=provider,
        aggregate_version=3,
        provider_id=None,
        data={},
    )
    assert provider_of(event) == provider
