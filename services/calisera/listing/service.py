"""Availability answers: provider configuration + busy time -> free slots, cached.

The listing service owns no data. It reads the provider configuration through the
providers client (``ScheduleConfig``, revalidated by ETag) and confirmed time through
the bookings client (``BusyTime``), runs :func:`calisera.scheduling.free_slots`, and
caches the JSON answer under the provider's generation (see :mod:`.cache`). Any
replica computes the same answer from the same sources; a replica that cannot reach
the providers or bookings service answers 503 instead of guessing.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from typing import Any, Protocol, TypeVar

import structlog

from calisera.bookings.schemas import BusyTime
from calisera.core.errors import NotFound
from calisera.listing import metrics
from calisera.listing.cache import ANSWER_FRESH, ANSWER_MAX_AGE, BUSY_TTL, CONFIG_TTL, Cache
from calisera.providers.schemas import ScheduleConfig
from calisera.scheduling import EXPLANATIONS, explain, free_slots
from calisera.scheduling.model import (
    AvailabilityQuery,
    BusyInterval,
    OccurrenceSeats,
    ProviderSchedule,
    ServiceDefinition,
)

T = TypeVar("T")
log = structlog.get_logger("calisera.listing")
MAX_RANGE_DAYS = 62
BUSY_MARGIN = timedelta(days=8)
"""Busy time is read this far around the bookable window: it covers buffers, the
provider-local days a daily limit counts, the whole ISO weeks a weekly limit counts
(a window's first and last days may be a Sunday and a Monday), and any offset between
zones."""


class ScheduleSource(Protocol):
    async def schedule_config(self, service_id: uuid.UUID) -> ScheduleConfig: ...


class BusySource(Protocol):
    async def busy_time(
        self, provider_id: uuid.UUID, start: datetime, end: datetime
    ) -> BusyTime: ...


@dataclass(frozen=True)
class _Decoded:
    raw: bytes
    config: ScheduleConfig
    schedule: ProviderSchedule
    service: ServiceDefinition
    blocking: tuple[ServiceDefinition, ...]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Listing:
    """One per process (``platform.get(Listing)``)."""

    def __init__(
        self,
        schedules: ScheduleSource,
        bookings: BusySource,
        cache: Cache,
        clock: Callable[[], datetime] = _utc_now,
    ):
        self.schedules = schedules
        self.bookings = bookings
        self.cache = cache
        self.clock = clock
        self._decoded: dict[uuid.UUID, _Decoded] = {}
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[bytes]] = set()
        self._refreshing: set[str] = set()
        self._busy_memo: dict[
            uuid.UUID, tuple[bytes, tuple[BusyInterval, ...], tuple[OccurrenceSeats, ...]]
        ] = {}

    async def _single_flight(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make`` once for concurrent misses of one key in this process: when an
        answer expires under load, one request recomputes it and the others wait for
        that result instead of all hitting the providers and bookings services."""
        running = self._inflight.get(key)
        if running is not None:
            result: T = await asyncio.shield(running)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await make()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: no warning when nobody waited
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._inflight[key]

    async def _configuration(self, service_id: uuid.UUID) -> tuple[_Decoded, int]:
        """The service's configuration and its provider's generation: from the cache
        while that generation is unchanged and for at most ``CONFIG_TTL``, else from
        the providers service (whose client revalidates with its ETag)."""
        key = f"cfg:{service_id}"
        raw = await self.cache.get(key)
        if raw is not None:
            decoded = self._decode(service_id, raw)
            stamp = int(raw[: raw.index(b"\n")])
            generation = await self.cache.generation(decoded.config.provider_id)
            if stamp == generation >= 0:
                return decoded, generation
        return await self._single_flight(key, lambda: self._fetch_configuration(service_id))

    async def _fetch_configuration(self, service_id: uuid.UUID) -> tuple[_Decoded, int]:
        config = await self.schedules.schedule_config(service_id)
        generation = await self.cache.generation(config.provider_id)
        raw = f"{generation}\n".encode() + config.model_dump_json().encode()
        await self.cache.set(f"cfg:{service_id}", raw, CONFIG_TTL)
        return self._decode(service_id, raw), generation

    def _decode(self, service_id: uuid.UUID, raw: bytes) -> _Decoded:
        known = self._decoded.get(service_id)
        if known is not None and known.raw == raw:
            return known
        config = ScheduleConfig.model_validate_json(raw[raw.index(b"\n") + 1 :])
        decoded = _Decoded(
            raw,
            config,
            config.provider_schedule(),
            config.service.definition(),
            config.blocking_services(),
        )
        if len(self._decoded) > 10_000:
            self._decoded.clear()
        self._decoded[service_id] = decoded
        return decoded

    async def availability(
        self, service_id: uuid.UUID, first: date, last: date, zone_name: str | None
    ) -> bytes:
        """The JSON answer of ``GET /api/v1/availability`` (``NotFound`` for an unknown,
        archived or suspended provider's service)."""
        decoded, generation = await self._configuration(service_id)
        config = decoded.config
        if config.provider_suspended or not config.service.active:
            raise NotFound(f"No bookable service {service_id}")
        out_zone = zone_name or config.timezone
        key = (
            f"ans:{config.provider_id}:{generation}:{config.version}:{service_id}:"
            f"{first.isoformat()}:{last.isoformat()}:{out_zone}"
        )
        cached = await self.cache.get(key) if generation >= 0 else None
        if cached is not None:
            split = cached.index(b"\n")
            body = cached[split + 1 :]
            if time.time() - float(cached[:split]) >= ANSWER_FRESH:
                metrics.CACHE_REQUESTS.labels("stale").inc()
                self._refresh(key, decoded, generation, first, last, out_zone)
            else:
                metrics.CACHE_REQUESTS.labels("hit").inc()
            return body
        metrics.CACHE_REQUESTS.labels("miss").inc()
        return await self._single_flight(
            key, lambda: self._answer(key, decoded, generation, first, last, out_zone)
        )

    def _refresh(
        self,
        key: str,
        decoded: _Decoded,
        generation: int,
        first: date,
        last: date,
        out_zone: str,
    ) -> None:
        """Recompute an aging answer in the background (once per key at a time: the
        key is claimed here, before the task first runs, so requests arriving in the
        same loop turn do not each start one)."""
        if key in self._inflight or key in self._refreshing:
            return
        self._refreshing.add(key)

        async def run() -> bytes:
            try:
                return await self._single_flight(
                    key, lambda: self._answer(key, decoded, generation, first, last, out_zone)
                )
            finally:
                self._refreshing.discard(key)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._refreshed)

    def _refreshed(self, task: asyncio.Task[bytes]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("listing_refresh_failed", error=repr(task.exception()))

    async def _answer(
        self,
        key: str,
        decoded: _Decoded,
        generation: int,
        first: date,
        last: date,
        out_zone: str,
    ) -> bytes:
        busy, seats = await self._busy(decoded, generation)
        query = AvailabilityQuery(
            schedule=decoded.schedule,
            service=decoded.service,
            now=self.clock(),
            range_start=first,
            range_end=last,
            output_zone=out_zone,
            busy=busy,
            seats=seats,
            other_services=decoded.blocking,
        )
        started = time.perf_counter()
        body = json.dumps(
            {
                "service_id": str(decoded.service.id),
                "timezone": out_zone,
                "slots": [
                    {
                        "start": s.start.isoformat(),
                        "end": s.end.isoformat(),
                        "seats_left": s.seats_left,
                    }
                    for s in free_slots(query)
                ],
            },
            separators=(",", ":"),
        ).encode()
        metrics.AVAILABILITY_COMPUTE.observe(time.perf_counter() - started)
        await self.cache.set(key, f"{time.time()}\n".encode() + body, ANSWER_MAX_AGE)
        return body

    async def explain(self, service_id: uuid.UUID, start: datetime, seats: int) -> dict[str, Any]:
        """Whether ``start`` is offered for ``seats`` and, if not, why: the same
        configuration, busy time and engine as :meth:`availability` (``NotFound`` only
        for an unknown service; a suspended provider or archived service is a reason)."""
        decoded, generation = await self._configuration(service_id)
        busy, seats_taken = await self._busy(decoded, generation)
        query = AvailabilityQuery(
            schedule=decoded.schedule,
            service=decoded.service,
            now=self.clock(),
            range_start=start.date(),
            range_end=start.date(),
            output_zone=decoded.config.timezone,
            busy=busy,
            seats=seats_taken,
            other_services=decoded.blocking,
        )
        reason = explain(query, start, seats)
        return {
            "service_id": service_id,
            "start": start,
            "seats": seats,
            "offered": reason is None,
            "reason": reason,
            "message": EXPLANATIONS[reason] if reason else None,
        }

    async def _busy(
        self, decoded: _Decoded, generation: int
    ) -> tuple[tuple[BusyInterval, ...], tuple[OccurrenceSeats, ...]]:
        """The provider's busy time over the whole bookable window (from yesterday to
        the end of the service's booking window, plus margins), shared by every
        request about that provider for ``BUSY_TTL`` and keyed by its generation."""
        today = self.clock().astimezone(UTC).date()
        lo = datetime.combine(today, wall_time(0), tzinfo=UTC) - BUSY_MARGIN
        days = decoded.service.booking_window_days + 1
        hi = datetime.combine(today, wall_time(0), tzinfo=UTC) + timedelta(days=days) + BUSY_MARGIN
        provider = decoded.config.provider_id
        key = f"busy:{provider}:{generation}:{lo.date().isoformat()}:{hi.date().isoformat()}"
        raw = await self.cache.get(key) if generation >= 0 else None
        if raw is None:
            raw = await self._single_flight(key, lambda: self._fetch_busy(key, provider, lo, hi))
        known = self._busy_memo.get(provider)
        if known is not None and known[0] == raw:
            return known[1], known[2]
        busy_time = BusyTime.model_validate_json(raw)
        found = (busy_time.busy_intervals(), busy_time.occurrence_seats())
        if len(self._busy_memo) > 10_000:
            self._busy_memo.clear()
        self._busy_memo[provider] = (raw, *found)
        return found

    async def _fetch_busy(self, key: str, provider: uuid.UUID, lo: datetime, hi: datetime) -> bytes:
        raw = (await self.bookings.busy_time(provider, lo, hi)).model_dump_json().encode()
        await self.cache.set(key, raw, BUSY_TTL)
        return raw

    async def aclose(self) -> None:
        """Stop background refreshes (at shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def invalidate(self, provider_id: uuid.UUID) -> None:
        await self.cache.bump(provider_id)
