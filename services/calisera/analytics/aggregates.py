"""The aggregate math of analytics: plain values in, plain values out (no I/O, no clock).

The consumer turns each booking event into an *observation* (only the facts analytics
keeps: no name, e-mail or phone — the customer is a keyed hash). A booking's *fact* is
the fold of all its observations in aggregate-version order, so any delivery order,
with any duplicates, gives the same fact. The stored aggregates (``daily_stats``,
``daily_buckets``) are the sum of :func:`contributions` of every booking fact; the
consumer applies ``contributions(new) - contributions(old)`` and a rebuild sums them
from scratch — both give the same rows.

Attribution (what day a booking counts on, all in the provider's zone carried by the
booking events):

- ``created`` and the lead-time histogram: the day the booking was made;
- ``cancelled`` and the cancellation-notice histogram: the day it was cancelled;
- ``rescheduled``: the day of each reschedule;
- ``bookings`` (held, i.e. not cancelled), ``completed``, ``no_show``, ``seats_booked``,
  ``booked_minutes`` and the weekday/hour heatmap: the day of the appointment.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from dateutil.rrule import rrulestr

NO_SERVICE = uuid.UUID(int=0)
"""Service id used for bookings whose events name no service (kept, never dropped)."""

STAT_COLUMNS = (
    "created",
    "cancelled",
    "rescheduled",
    "completed",
    "no_show",
    "bookings",
    "seats_booked",
    "booked_minutes",
    "lead_time_minutes",
    "cancel_notice_minutes",
)

LEAD_TIME_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-1h", 60),
    ("1h-1d", 24 * 60),
    ("1d-3d", 3 * 24 * 60),
    ("3d-7d", 7 * 24 * 60),
    ("7d-30d", 30 * 24 * 60),
    ("30d+", None),
)
"""Histogram buckets of minutes, upper bound exclusive; negative minutes go to the first."""

DIMENSIONS = ("lead_time", "cancel_notice", "start_hour")

STATUS_BY_TYPE = {
    "booking.created": "confirmed",
    "booking.rescheduled": "confirmed",
    "booking.cancelled": "cancelled",
    "booking.completed": "completed",
    "booking.no_show": "no_show",
}
HELD_STATUSES = frozenset({"confirmed", "completed", "no_show"})
METRICS = (
    "bookings_created",
    "cancelled",
    "rescheduled",
    "completed",
    "no_show",
    "bookings",
    "seats_booked",
    "seats_offered",
    "booked_minutes",
    "available_minutes",
    "utilization",
    "seat_utilization",
    "cancellation_rate",
)
INTERVALS = ("day", "week", "month")


# --- small value helpers ---------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``; UTC when missing or unknown (events are never rejected)."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def parse_instant(value: Any) -> datetime | None:
    """An aware datetime from an RFC 3339 string (or datetime); None when absent/bad."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def local_day(instant: datetime, tz: str | None) -> date:
    return instant.astimezone(zone(tz)).date()


def bucket_of(minutes: int, buckets: Sequence[tuple[str, int | None]] = LEAD_TIME_BUCKETS) -> str:
    for name, upper in buckets:
        if upper is None or minutes < upper:
            return name
    return buckets[-1][0]


def minutes_between(start: datetime, end: datetime) -> int:
    """Elapsed minutes (in UTC: Python subtracts same-zone datetimes by wall clock)."""
    return int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 60)


def customer_key(secret: bytes, email: str) -> str:
    """HMAC-SHA256 of the trimmed, lowercased e-mail: who is returning, never who it is."""
    return hmac.new(secret, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def country_of(phone: str | None) -> str | None:
    """ISO 3166 region of an international phone number (``+44 20 ...`` -> ``GB``)."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


def as_uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _status(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.strip().lower().replace("-", "_")


# --- booking events -> observations -> facts ---------------------------------------------


def observe_booking(
    *,
    event_type: str,
    aggregate_id: uuid.UUID,
    aggregate_version: int,
    occurred_at: datetime,
    provider_id: uuid.UUID | None,
    data: Mapping[str, Any],
    secret: bytes,
) -> dict[str, Any]:
    """The JSON-able facts analytics keeps from one booking event (None values dropped).

    Tolerates missing optional fields and a few spellings (``id``/``booking_id``,
    ``start``/``starts_at``); the customer's e-mail becomes :func:`customer_key`.
    """
    customer = data.get("customer") if isinstance(data.get("customer"), Mapping) else {}
    assert isinstance(customer, Mapping)
    email = customer.get("email") or data.get("customer_email")
    phone = customer.get("phone") or data.get("customer_phone")
    cancelled_at = data.get("cancelled_at") if event_type == "booking.cancelled" else None
    if event_type == "booking.cancelled" and cancelled_at is None:
        cancelled_at = occurred_at
    obs: dict[str, Any] = {
        "type": event_type,
        "version": aggregate_version,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "provider_id": str(as_uuid(data.get("provider_id")) or provider_id or "") or None,
        "service_id": str(as_uuid(data.get("service_id")) or "") or None,
        "service_kind": data.get("service_kind") or data.get("kind"),
        "service_name": data.get("service_name"),
        "status": _status(data.get("status")) or STATUS_BY_TYPE.get(event_type),
        "start": _iso(data.get("start") or data.get("starts_at")),
        "end": _iso(data.get("end") or data.get("ends_at")),
        "seats": as_int(data.get("seats")),
        "created_at": _iso(data.get("created_at")),
        "cancelled_at": _iso(cancelled_at),
        "provider_timezone": data.get("provider_timezone") or data.get("timezone"),
        "customer_key": customer_key(secret, str(email)) if email else None,
        "customer_timezone": customer.get("timezone"),
        "customer_country": country_of(str(phone)) if phone else None,
    }
    if event_type == "booking.created" and obs["created_at"] is None:
        obs["created_at"] = obs["occurred_at"]
    return {k: v for k, v in obs.items() if v is not None}


def _iso(value: Any) -> str | None:
    parsed = parse_instant(value)
    return parsed.isoformat() if parsed else None


@dataclass(frozen=True)
class BookingFact:
    """The current state of one booking as analytics knows it."""

    booking_id: uuid.UUID
    version: int
    provider_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None
    service_kind: str | None = None
    service_name: str | None = None
    status: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    seats: int = 1
    created_at: datetime | None = None
    cancelled_at: datetime | None = None
    reschedules: tuple[datetime, ...] = ()
    provider_timezone: str | None = None
    customer_key: str | None = None
    customer_timezone: str | None = None
    customer_country: str | None = None


_TYPE_ORDER = {t: i for i, t in enumerate(STATUS_BY_TYPE)}


def fold_booking(booking_id: uuid.UUID, observations: Iterable[Mapping[str, Any]]) -> BookingFact:
    """The booking's fact: each field from the newest observation that carries it.

    Observations are ordered by aggregate version (then type and time, for events that
    would share a version), so the result does not depend on arrival order; an older
    event never overrides a newer one, and a field a newer event omits is still filled
    from an older one. Reschedules are the set of all reschedule observations.
    """
    ordered = sorted(
        observations,
        key=lambda o: (int(o["version"]), _TYPE_ORDER.get(o["type"], 99), o["occurred_at"]),
    )
    merged: dict[str, Any] = {}
    reschedules: dict[int, datetime] = {}
    for obs in ordered:
        merged.update({k: v for k, v in obs.items() if k not in ("type", "occurred_at")})
        if obs["type"] == "booking.rescheduled":
            at = parse_instant(obs["occurred_at"])
            assert at is not None
            reschedules[int(obs["version"])] = at
    status = merged.get("status")
    return BookingFact(
        booking_id=booking_id,
        version=int(merged.get("version", 0)),
        provider_id=as_uuid(merged.get("provider_id")),
        service_id=as_uuid(merged.get("service_id")),
        service_kind=merged.get("service_kind"),
        service_name=merged.get("service_name"),
        status=status,
        start=parse_instant(merged.get("start")),
        end=parse_instant(merged.get("end")),
        seats=max(1, as_int(merged.get("seats")) or 1),
        created_at=parse_instant(merged.get("created_at")),
        cancelled_at=parse_instant(merged.get("cancelled_at")) if status == "cancelled" else None,
        reschedules=tuple(reschedules[v] for v in sorted(reschedules)),
        provider_timezone=merged.get("provider_timezone"),
        customer_key=merged.get("customer_key"),
        customer_timezone=merged.get("customer_timezone"),
        customer_country=merged.get("customer_country"),
    )


def merge_fields(
    stored: Mapping[str, Any], version: int, updates: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """Per-field last-writer-wins by aggregate version: ``{field: [version, value]}``.

    Fields an event does not state (None) are left alone, so a newer event that omits a
    field never erases it and an older event never overrides a newer one: any order of
    delivery ends in the same values.
    """
    merged: dict[str, list[Any]] = {k: list(v) for k, v in stored.items()}
    for name, value in updates.items():
        if value is None:
            continue
        if name not in merged or int(merged[name][0]) <= version:
            merged[name] = [version, value]
    return merged


def field_values(fields: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    return {name: entry[1] for name, entry in fields.items()}


# --- facts -> aggregate contributions ---------------------------------------------------

StatKey = tuple[str, uuid.UUID, uuid.UUID, date, str]
"""("stat", provider, service, day, column)"""
BucketKey = tuple[str, uuid.UUID, uuid.UUID, date, str, str]
"""("bucket", provider, service, day, dimension, bucket)"""


def contributions(fact: BookingFact | None) -> Counter[tuple[Any, ...]]:
    """What one booking adds to ``daily_stats`` and ``daily_buckets``."""
    out: Counter[tuple[Any, ...]] = Counter()
    if fact is None or fact.provider_id is None:
        return out
    p, s, tz = fact.provider_id, fact.service_id or NO_SERVICE, fact.provider_timezone

    def stat(day: date, column: str, amount: int = 1) -> None:
        out[("stat", p, s, day, column)] += amount

    def bucket(day: date, dimension: str, name: str) -> None:
        out[("bucket", p, s, day, dimension, name)] += 1

    if fact.created_at is not None:
        day = local_day(fact.created_at, tz)
        stat(day, "created")
        if fact.start is not None:
            lead = max(0, minutes_between(fact.created_at, fact.start))
            stat(day, "lead_time_minutes", lead)
            bucket(day, "lead_time", bucket_of(lead))
    if fact.status == "cancelled":
        cancelled_at = fact.cancelled_at or fact.created_at
        if cancelled_at is not None:
            day = local_day(cancelled_at, tz)
            stat(day, "cancelled")
            if fact.start is not None:
                notice = max(0, minutes_between(cancelled_at, fact.start))
                stat(day, "cancel_notice_minutes", notice)
                bucket(day, "cancel_notice", bucket_of(notice))
    for at in fact.reschedules:
        stat(local_day(at, tz), "rescheduled")
    if fact.start is not None and fact.status in HELD_STATUSES:
        local_start = fact.start.astimezone(zone(tz))
        day = local_start.date()
        stat(day, "bookings")
        stat(day, "seats_booked", fact.seats)
        if fact.end is not None and fact.end > fact.start:
            stat(day, "booked_minutes", minutes_between(fact.start, fact.end))
        if fact.status == "completed":
            stat(day, "completed")
        elif fact.status == "no_show":
            stat(day, "no_show")
        bucket(day, "start_hour", f"{local_start.hour:02d}")
    return +out


def contribution_delta(
    old: BookingFact | None, new: BookingFact | None
) -> dict[tuple[Any, ...], int]:
    """``new - old``, keeping negative amounts (a Counter subtraction would drop them)."""
    delta: dict[tuple[Any, ...], int] = dict(contributions(new))
    for key, amount in contributions(old).items():
        delta[key] = delta.get(key, 0) - amount
    return {k: v for k, v in delta.items() if v}


def total_contributions(facts: Iterable[BookingFact]) -> Counter[tuple[Any, ...]]:
    total: Counter[tuple[Any, ...]] = Counter()
    for fact in facts:
        total.update(contributions(fact))
    return total


def split_rows(
    amounts: Mapping[tuple[Any, ...], int],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Contribution amounts as ``daily_stats`` and ``daily_buckets`` rows, sorted by key
    (a fixed order of row updates keeps concurrent consumers free of deadlocks)."""
    stats: dict[tuple[uuid.UUID, uuid.UUID, date], dict[str, Any]] = {}
    buckets: list[dict[str, Any]] = []
    for key, amount in amounts.items():
        if key[0] == "stat":
            _, p, s, day, column = key
            row = stats.setdefault(
                (p, s, day),
                {"provider_id": p, "service_id": s, "day": day} | dict.fromkeys(STAT_COLUMNS, 0),
            )
            row[column] += amount
        else:
            _, p, s, day, dimension, name = key
            buckets.append(
                {
                    "provider_id": p,
                    "service_id": s,
                    "day": day,
                    "dimension": dimension,
                    "bucket": name,
                    "count": amount,
                }
            )
    stat_rows = [stats[k] for k in sorted(stats, key=lambda k: (str(k[0]), str(k[1]), k[2]))]
    buckets.sort(
        key=lambda r: (
            str(r["provider_id"]),
            str(r["service_id"]),
            r["day"],
            r["dimension"],
            r["bucket"],
        )
    )
    return stat_rows, buckets


# --- availability -> available minutes ---------------------------------------------------


def _wall(value: Any) -> time | None:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        return None
    if value.startswith("24:00"):
        return time.max
    try:
        return time.fromisoformat(value)
    except ValueError:
        return None


def _naive(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Availability:
    """The provider's hours as the latest ``availability.updated`` event stated them."""

    timezone: str = "UTC"
    weekly: tuple[tuple[int, time, time], ...] = ()
    overrides: Mapping[date, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    time_off: tuple[tuple[datetime, datetime], ...] = ()

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | None, timezone: str | None) -> Availability:
        doc = doc or {}
        weekly = []
        for rule in doc.get("weekly") or []:
            start, end = _wall(rule.get("start")), _wall(rule.get("end"))
            day = as_int(rule.get("weekday"))
            if start is not None and end is not None and day is not None and 0 <= day <= 6:
                weekly.append((day, start, end))
        overrides: dict[date, tuple[tuple[time, time], ...]] = {}
        for override in doc.get("overrides") or []:
            try:
                on = date.fromisoformat(str(override.get("date")))
            except ValueError:
                continue
            intervals = []
            for i in override.get("intervals") or []:
                start, end = _wall(i.get("start")), _wall(i.get("end"))
                if start is not None and end is not None:
                    intervals.append((start, end))
            overrides[on] = tuple(intervals)
        time_off = []
        for off in doc.get("time_off") or []:
            start_dt, end_dt = _naive(off.get("start")), _naive(off.get("end"))
            if start_dt is not None and end_dt is not None:
                time_off.append((start_dt, end_dt))
        return cls(
            timezone=timezone or doc.get("timezone") or "UTC",
            weekly=tuple(weekly),
            overrides=overrides,
            time_off=tuple(time_off),
        )

    def wall_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """That day's working hours as naive wall-clock intervals, merged, minus time off."""
        if day in self.overrides:
            raw = list(self.overrides[day])
        else:
            raw = [(s, e) for w, s, e in self.weekly if w == day.weekday()]
        spans = sorted(
            (
                datetime.combine(day, s),
                datetime.combine(day, e)
                if e != time.max
                else datetime.combine(day + timedelta(days=1), time.min),
            )
            for s, e in raw
        )
        merged: list[tuple[datetime, datetime]] = []
        for s, e in spans:
            if e <= s:
                continue
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        for off_start, off_end in self.time_off:
            cut: list[tuple[datetime, datetime]] = []
            for s, e in merged:
                if off_end <= s or off_start >= e:
                    cut.append((s, e))
                    continue
                if s < off_start:
                    cut.append((s, off_start))
                if off_end < e:
                    cut.append((off_end, e))
            merged = cut
        return merged

    def available_minutes(self, day: date) -> int:
        """Real elapsed minutes of that day's hours (a DST change shortens or lengthens)."""
        tz = zone(self.timezone)
        total = 0
        for s, e in self.wall_intervals(day):
            total += minutes_between(s.replace(tzinfo=tz), e.replace(tzinfo=tz))
        return total


# --- services -> seats offered --------------------------------------------------------------


@dataclass(frozen=True)
class ServiceOffer:
    """What a service offers: enough to count its occurrences and seats per day."""

    service_id: uuid.UUID
    name: str | None = None
    kind: str | None = None
    capacity: int = 1
    duration_minutes: int | None = None
    starts_at: datetime | None = None
    recurrence: Mapping[str, Any] | None = None
    archived_at: datetime | None = None

    def occurrences(self, first: date, last: date, tz: str | None) -> Counter[date]:
        """Occurrences per provider-local day in ``[first, last]`` (events and classes)."""
        out: Counter[date] = Counter()
        zi = zone(tz)
        if self.kind == "event" and self.starts_at is not None:
            if self.archived_at is None or self.starts_at < self.archived_at:
                day = self.starts_at.astimezone(zi).date()
                if first <= day <= last:
                    out[day] += 1
        elif self.kind == "class" and self.recurrence:
            for local in self._class_starts(first, last):
                at = local.replace(tzinfo=zi)
                if self.archived_at is None or at < self.archived_at:
                    out[local.date()] += 1
        return out

    def _class_starts(self, first: date, last: date) -> list[datetime]:
        rec = self.recurrence or {}
        start_time = _wall(rec.get("start_time"))
        try:
            starts_on = date.fromisoformat(str(rec.get("starts_on")))
        except ValueError:
            return []
        rule = rec.get("rrule")
        if start_time is None or not isinstance(rule, str):
            return []
        until = None
        if rec.get("until"):
            try:
                until = date.fromisoformat(str(rec["until"]))
            except ValueError:
                until = None
        exdates = set()
        for d in rec.get("exdates") or []:
            try:
                exdates.add(date.fromisoformat(str(d)))
            except ValueError:
                continue
        try:
            rr = rrulestr(
                rule.removeprefix("RRULE:"), dtstart=datetime.combine(starts_on, start_time)
            )
        except (ValueError, TypeError):
            return []
        lo = datetime.combine(max(first, starts_on), time.min)
        hi_day = min(last, until) if until else last
        hi = datetime.combine(hi_day, time.max)
        if hi < lo:
            return []
        return [d for d in rr.between(lo, hi, inc=True) if d.date() not in exdates]

    def seats_offered(self, first: date, last: date, tz: str | None) -> Counter[date]:
        return Counter({d: n * self.capacity for d, n in self.occurrences(first, last, tz).items()})


# --- queries: stored rows -> answers ---------------------------------------------------------


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def period_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class DayTotals:
    """One bucket of counters (a day, a week, a service...)."""

    bookings_created: int = 0
    cancelled: int = 0
    rescheduled: int = 0
    completed: int = 0
    no_show: int = 0
    bookings: int = 0
    seats_booked: int = 0
    seats_offered: int = 0
    booked_minutes: int = 0
    available_minutes: int = 0
    lead_time_minutes: int = 0
    cancel_notice_minutes: int = 0
    simple_booked_minutes: int = 0
    offered_seats_booked: int = 0

    def add_stats(self, row: Mapping[str, Any], kind: str | None) -> None:
        self.bookings_created += row["created"]
        self.cancelled += row["cancelled"]
        self.rescheduled += row["rescheduled"]
        self.completed += row["completed"]
        self.no_show += row["no_show"]
        self.bookings += row["bookings"]
        self.seats_booked += row["seats_booked"]
        self.booked_minutes += row["booked_minutes"]
        self.lead_time_minutes += row["lead_time_minutes"]
        self.cancel_notice_minutes += row["cancel_notice_minutes"]
        if kind in ("event", "class"):
            self.offered_seats_booked += row["seats_booked"]
        else:
            self.simple_booked_minutes += row["booked_minutes"]

    def merge(self, other: DayTotals) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def utilization(self) -> float | None:
        """One-to-one time booked / time available (events and classes use seats)."""
        return ratio(self.simple_booked_minutes, self.available_minutes)

    @property
    def seat_utilization(self) -> float | None:
        return ratio(self.offered_seats_booked, self.seats_offered)

    @property
    def cancellation_rate(self) -> float | None:
        return ratio(self.cancelled, self.bookings_created)

    def metric(self, name: str) -> float | int | None:
        value: float | int | None = getattr(self, name)
        return value

    def counts(self) -> dict[str, Any]:
        return {
            "bookings_created": self.bookings_created,
            "cancelled": self.cancelled,
            "rescheduled": self.rescheduled,
            "completed": self.completed,
            "no_show": self.no_show,
            "bookings": self.bookings,
            "seats_booked": self.seats_booked,
            "seats_offered": self.seats_offered,
            "booked_minutes": self.booked_minutes,
            "available_minutes": self.available_minutes,
            "utilization": self.utilization,
            "seat_utilization": self.seat_utilization,
            "cancellation_rate": self.cancellation_rate,
        }


def totals_by_day(
    first: date,
    last: date,
    stat_rows: Iterable[Mapping[str, Any]],
    kinds: Mapping[uuid.UUID, str | None],
    availability: Availability | None,
    offers: Iterable[ServiceOffer],
    tz: str | None,
) -> dict[date, DayTotals]:
    """Every day of ``[first, last]`` with its counters, available minutes and seats."""
    out = {d: DayTotals() for d in days(first, last)}
    for row in stat_rows:
        if row["day"] in out:
            out[row["day"]].add_stats(row, kinds.get(row["service_id"]))
    if availability is not None:
        for d, totals in out.items():
            totals.available_minutes = availability.available_minutes(d)
    for offer in offers:
        for d, seats in offer.seats_offered(first, last, tz).items():
            out[d].seats_offered += seats
    return out


def totals_by_service(
    first: date,
    last: date,
    stat_rows: Iterable[Mapping[str, Any]],
    offers: Mapping[uuid.UUID, ServiceOffer],
    tz: str | None,
) -> dict[uuid.UUID, DayTotals]:
    out: dict[uuid.UUID, DayTotals] = {}
    for row in stat_rows:
        if first <= row["day"] <= last:
            offer = offers.get(row["service_id"])
            out.setdefault(row["service_id"], DayTotals()).add_stats(
                row, offer.kind if offer else None
            )
    for sid, offer in offers.items():
        seats = sum(offer.seats_offered(first, last, tz).values())
        if seats:
            out.setdefault(sid, DayTotals()).seats_offered += seats
    return out


def series(
    by_day: Mapping[date, DayTotals], metric: str, interval: str
) -> list[tuple[date, float | int | None]]:
    """``metric`` per ``interval`` bucket (weeks start Monday; ratios computed per bucket)."""
    grouped: dict[date, DayTotals] = {}
    for d in sorted(by_day):
        grouped.setdefault(period_start(d, interval), DayTotals()).merge(by_day[d])
    name = "bookings_created" if metric == "bookings_created" else metric
    return [(start, grouped[start].metric(name)) for start in sorted(grouped)]


@dataclass(frozen=True)
class CustomerBooking:
    customer_key: str
    created_at: datetime
    timezone: str | None = None
    country: str | None = None


@dataclass
class CustomerMix:
    new: int = 0
    returning: int = 0
    repeat_rate: float | None = None
    timezones: dict[str, int] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)


def customer_mix(
    bookings: Iterable[CustomerBooking], start: datetime, end: datetime
) -> CustomerMix:
    """Customers who made a booking in ``[start, end)``.

    *New*: their first booking with this provider ever was made in the period;
    *returning*: they had booked before. *Repeat rate*: the share of them with two or
    more bookings made up to ``end``. Time zones and countries count each customer once,
    with the value of their latest booking in the period that states it.
    """
    first: dict[str, datetime] = {}
    total: Counter[str] = Counter()
    in_period: dict[str, list[CustomerBooking]] = {}
    for b in bookings:
        if b.created_at >= end:
            continue
        total[b.customer_key] += 1
        if b.customer_key not in first or b.created_at < first[b.customer_key]:
            first[b.customer_key] = b.created_at
        if b.created_at >= start:
            in_period.setdefault(b.customer_key, []).append(b)
    mix = CustomerMix()
    tzs: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    for key, items in in_period.items():
        if first[key] >= start:
            mix.new += 1
        else:
            mix.returning += 1
        items.sort(key=lambda b: (b.created_at, b.timezone or "", b.country or ""))
        tz = next((b.timezone for b in reversed(items) if b.timezone), None)
        country = next((b.country for b in reversed(items) if b.country), None)
        tzs[tz or "unknown"] += 1
        countries[country or "unknown"] += 1
    customers = mix.new + mix.returning
    mix.repeat_rate = ratio(sum(1 for k in in_period if total[k] >= 2), customers)
    # most customers first, ties by name: the same answer whatever order rows came in
    mix.timezones = dict(sorted(tzs.items(), key=lambda kv: (-kv[1], kv[0])))
    mix.countries = dict(sorted(countries.items(), key=lambda kv: (-kv[1], kv[0])))
    return mix
