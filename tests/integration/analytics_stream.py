"""A seeded generator of realistic analytics event streams and a reference computation.

The generator invents a provider's services, availability and bookings with their whole
lifecycle (created, rescheduled, cancelled, completed, no-show) and emits the events the
other services would; :class:`Reference` computes the expected dashboard numbers from
the same logical bookings, straightforwardly, without any of the analytics code.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calisera.bookings.events import BOOKING_EVENTS
from calisera.core.events import EventEnvelope, EventType, new_event
from calisera.providers.events import (
    AVAILABILITY_UPDATED,
    PROVIDER_CREATED,
    SERVICE_ARCHIVED,
    SERVICE_CREATED,
    SERVICE_UPDATED,
)

CUSTOMERS = [
    ("Ann", "ann@example.com", "+44 20 7946 0958", "Europe/London"),
    ("Ben", "BEN@example.com", "+1 212 555 0100", "America/New_York"),
    ("Cleo", "cleo@example.org", "+49 30 901820", "Europe/Berlin"),
    ("Dev", "dev@example.in", None, "Asia/Kolkata"),
    ("Eve", "eve@example.fr", "+33 1 42 68 53 00", None),
    ("Fay", "fay@example.jp", "+81 3-3224-9999", "Asia/Tokyo"),
    ("Gus", "gus@example.com", "+61 2 9374 4000", "Australia/Sydney"),
    ("Hal", "hal@example.com", None, None),
]


@dataclass
class Booking:
    id: uuid.UUID
    service: dict[str, Any]
    customer: tuple[str, str, str | None, str | None]
    created_at: datetime
    start: datetime
    seats: int
    original_start: datetime
    reschedules: list[tuple[datetime, datetime]] = field(default_factory=list)  # (at, new start)
    final: str = "confirmed"
    final_at: datetime | None = None

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.service["duration_minutes"])


@dataclass
class World:
    provider_id: uuid.UUID
    timezone: str
    services: list[dict[str, Any]]
    availability: dict[str, Any]
    bookings: list[Booking]
    events: list[EventEnvelope]


EVENT_TYPES: dict[str, EventType[Any]] = {
    t.name: t
    for t in (
        *BOOKING_EVENTS.values(),
        PROVIDER_CREATED,
        SERVICE_CREATED,
        SERVICE_UPDATED,
        SERVICE_ARCHIVED,
        AVAILABILITY_UPDATED,
    )
}


def producer_event(
    type_: str,
    aggregate_id: uuid.UUID,
    version: int,
    at: datetime,
    provider: uuid.UUID,
    data: dict[str, Any],
) -> EventEnvelope:
    """The envelope the producer writes: ``data`` built through the producer's model."""
    event_type = EVENT_TYPES[type_]
    source = "bookings" if type_.startswith("booking.") else "providers"
    envelope = new_event(
        event_type,
        data=event_type.data.model_validate(data),
        source=source,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        provider_id=provider,
    )
    return envelope.model_copy(update={"occurred_at": at})


def provider_data(provider: uuid.UUID, timezone: str, slug: str) -> dict[str, Any]:
    """A ``provider.*`` payload (:class:`calisera.providers.events.ProviderData`)."""
    return {
        "id": str(provider),
        "name": "Studio",
        "slug": slug,
        "timezone": timezone,
        "locale": "en",
        "owner_email": "owner@example.com",
        "booking_url": f"https://book.example.test/{slug}",
        "qr_code_url": f"https://book.example.test/{slug}/qr.svg",
    }


def generate(seed: int, *, timezone: str = "Europe/Berlin", bookings: int = 50) -> World:
    rng = random.Random(seed)
    zi = ZoneInfo(timezone)
    provider = uuid.UUID(int=rng.getrandbits(128))
    setup_at = datetime(2027, 1, 1, tzinfo=UTC)
    services = [
        {
            "id": uuid.UUID(int=rng.getrandbits(128)),
            "name": "Haircut",
            "kind": "simple",
            "duration_minutes": 60,
            "capacity": 1,
        },
        {
            "id": uuid.UUID(int=rng.getrandbits(128)),
            "name": "Beard trim",
            "kind": "simple",
            "duration_minutes": 30,
            "capacity": 1,
        },
        {
            "id": uuid.UUID(int=rng.getrandbits(128)),
            "name": "Workshop",
            "kind": "event",
            "duration_minutes": 120,
            "capacity": 10,
            "starts_at": datetime(2027, 3, 20, 10, 0, tzinfo=zi),
        },
        {
            "id": uuid.UUID(int=rng.getrandbits(128)),
            "name": "Yoga",
            "kind": "class",
            "duration_minutes": 60,
            "capacity": 5,
            "recurrence": {
                "rrule": "FREQ=WEEKLY;BYDAY=TU,TH",
                "start_time": "18:00",
                "starts_on": "2027-02-01",
                "until": None,
                "exdates": ["2027-03-18"],
            },
        },
    ]
    availability = {
        "weekly": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
        "overrides": [{"date": "2027-03-10", "intervals": []}],
        "time_off": [{"start": "2027-03-16T12:00:00", "end": "2027-03-16T14:00:00"}],
        "timezone": timezone,
    }
    events: list[EventEnvelope] = [
        producer_event(
            "provider.created",
            provider,
            1,
            setup_at,
            provider,
            provider_data(provider, timezone, f"studio-{seed}"),
        ),
        producer_event(
            "availability.updated",
            provider,
            2,
            setup_at,
            provider,
            {"provider_id": str(provider), **availability},
        ),
    ]
    for s in services:
        data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in s.items()}
        data["id"], data["provider_id"] = str(s["id"]), str(provider)
        # an outdated first version arrives too; the newer one must win
        stale = data | {"capacity": 99, "name": "old name"}
        events.append(producer_event("service.created", s["id"], 1, setup_at, provider, stale))
        events.append(producer_event("service.updated", s["id"], 2, setup_at, provider, data))

    class_days = [
        d
        for d in (date(2027, 2, 1) + timedelta(days=i) for i in range(70))
        if d.weekday() in (1, 3) and d != date(2027, 3, 18)
    ]
    result: list[Booking] = []
    for _ in range(bookings):
        service = rng.choice(services)
        created_at = datetime(2027, 2, 15, tzinfo=UTC) + timedelta(
            minutes=rng.randrange(0, 44 * 24 * 60)
        )
        if service["kind"] == "simple":
            day = (created_at.astimezone(zi) + timedelta(days=rng.randrange(0, 20))).date()
            start = datetime.combine(day, time(rng.randrange(9, 16)), zi)
        elif service["kind"] == "event":
            start = service["starts_at"]
            created_at = min(created_at, start - timedelta(hours=2))
        else:
            later = [d for d in class_days if datetime.combine(d, time(18), zi) > created_at]
            if not later:
                continue
            start = datetime.combine(rng.choice(later[:6]), time(18), zi)
        start = start.astimezone(UTC)
        if start <= created_at:
            start = created_at + timedelta(hours=1, minutes=30)
        booking = Booking(
            id=uuid.UUID(int=rng.getrandbits(128)),
            service=service,
            customer=rng.choice(CUSTOMERS),
            created_at=created_at,
            start=start,
            seats=rng.choice([1, 1, 2]) if service["kind"] != "simple" else 1,
            original_start=start,
        )
        at = created_at
        if service["kind"] == "simple":
            for _ in range(rng.choice([0, 0, 0, 1, 2])):
                at = at + timedelta(hours=rng.randrange(1, 30))
                booking.start = booking.start + timedelta(days=rng.choice([-1, 1, 2]))
                if booking.start <= at:
                    booking.start = at + timedelta(days=1)
                booking.reschedules.append((at, booking.start))
        roll = rng.random()
        if roll < 0.3:
            booking.final = "cancelled"
            booking.final_at = at + timedelta(minutes=rng.randrange(1, 5 * 24 * 60))
        elif roll < 0.6:
            booking.final = "completed"
            booking.final_at = booking.end + timedelta(minutes=10)
        elif roll < 0.7:
            booking.final = "no_show"
            booking.final_at = booking.end + timedelta(minutes=10)
        result.append(booking)
        events.extend(booking_events(booking, provider, timezone))
    return World(provider, timezone, services, availability, result, events)


def booking_events(b: Booking, provider: uuid.UUID, timezone: str) -> list[EventEnvelope]:
    name, email, phone, tz = b.customer
    customer = {"name": name, "email": email, "phone": phone, "timezone": tz}

    def data(start: datetime, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "booking_id": str(b.id),
            "service_id": str(b.service["id"]),
            "service_kind": b.service["kind"],
            "service_name": b.service["name"],
            "provider_id": str(provider),
            "provider_name": "Studio",
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=b.service["duration_minutes"])).isoformat(),
            "seats": b.seats,
            "status": status,
            "customer": customer,
            "provider_timezone": timezone,
            "created_at": b.created_at.isoformat(),
            "actor": "customer",
            **extra,
        }

    original = b.original_start
    out = [
        producer_event(
            "booking.created", b.id, 1, b.created_at, provider, data(original, "confirmed")
        )
    ]
    previous = original
    for version, (at, new_start) in enumerate(b.reschedules, start=2):
        out.append(
            producer_event(
                "booking.rescheduled",
                b.id,
                version,
                at,
                provider,
                data(new_start, "confirmed", previous_start=previous.isoformat()),
            )
        )
        previous = new_start
    if b.final != "confirmed":
        assert b.final_at is not None
        extra = {"reason": "changed plans", "actor": "customer"} if b.final == "cancelled" else {}
        out.append(
            producer_event(
                f"booking.{b.final}",
                b.id,
                len(out) + 1,
                b.final_at,
                provider,
                data(b.start, b.final, **extra),
            )
        )
    return out


# --- the reference -----------------------------------------------------------------------


class Reference:
    """Expected dashboard numbers computed directly from the logical bookings."""

    def __init__(self, world: World):
        self.world = world
        self.zone = ZoneInfo(world.timezone)

    def day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def daily(self, first: date, last: date) -> dict[date, Counter[str]]:
        out: dict[date, Counter[str]] = {
            first + timedelta(days=i): Counter() for i in range((last - first).days + 1)
        }

        def add(d: date, key: str, n: int = 1) -> None:
            if d in out:
                out[d][key] += n

        for b in self.world.bookings:
            add(self.day(b.created_at), "bookings_created")
            for at, _ in b.reschedules:
                add(self.day(at), "rescheduled")
            if b.final == "cancelled":
                assert b.final_at is not None
                add(self.day(b.final_at), "cancelled")
                continue
            d = self.day(b.start)
            add(d, "bookings")
            add(d, "seats_booked", b.seats)
            add(d, "booked_minutes", b.service["duration_minutes"])
            if b.service["kind"] == "simple":
                add(d, "simple_minutes", b.service["duration_minutes"])
            else:
                add(d, "offered_seats_booked", b.seats)
            if b.final in ("completed", "no_show"):
                add(d, b.final)
        for d, counts in out.items():
            counts["available_minutes"] = self.available_minutes(d)
            counts["seats_offered"] = self.seats_offered(d)
        return out

    def available_minutes(self, d: date) -> int:
        """Mon-Fri 09-17, 10 March off, 16 March two hours off."""
        if d.weekday() >= 5 or d == date(2027, 3, 10):
            return 0
        return 360 if d == date(2027, 3, 16) else 480

    def seats_offered(self, d: date) -> int:
        seats = 0
        for s in self.world.services:
            if s["kind"] == "event" and s["starts_at"].astimezone(self.zone).date() == d:
                seats += s["capacity"]
            if (
                s["kind"] == "class"
                and d >= date(2027, 2, 1)
                and d.weekday() in (1, 3)
                and d != date(2027, 3, 18)
            ):
                seats += s["capacity"]
        return seats

    def customers(self, first: date, last: date) -> tuple[int, int]:
        start = datetime.combine(first, time.min, self.zone)
        end = datetime.combine(last + timedelta(days=1), time.min, self.zone)
        earliest: dict[str, datetime] = {}
        active: set[str] = set()
        for b in self.world.bookings:
            key = b.customer[1].lower()
            earliest[key] = min(earliest.get(key, b.created_at), b.created_at)
            if start <= b.created_at < end:
                active.add(key)
        new = sum(1 for k in active if earliest[k] >= start)
        return new, len(active) - new
