"""Class series: every occurrence of a class for some weeks, booked in one request.

Each occurrence becomes an ordinary booking (its own seats, busy block, history and
events), so everything else — cancel, reschedule, reminders, analytics, the listing —
treats it like any other. What joins them is ``series_id`` and one manage token (the
bookings share its hash): one manage link shows the series and can cancel one
occurrence or the rest.

The whole series is booked in one transaction under the provider's lock, each
occurrence checked by the same engine and limits as a single booking and written in its
own savepoint: ``all_or_nothing`` lets the first refusal roll everything back (the
problem names that occurrence's ``start``), ``skip_unavailable`` rolls back only the
refused occurrence's savepoint and reports it in ``skipped``. Of the events the change
emits (one per booking), the first booking's *speaks* for the series and lists every
member (:class:`calisera.bookings.events.SeriesInfo`), so the customer gets one
confirmation listing the dates, not one per week.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera import scheduling
from calisera.bookings import events
from calisera.bookings.access import Actor, hash_manage_token
from calisera.bookings.answers import checked_answers
from calisera.bookings.customer_limits import check_customer_limits
from calisera.bookings.errors import LimitReached, NotBookable, SlotUnavailable
from calisera.bookings.expiry import expire_stale
from calisera.bookings.lifecycle import (
    ScheduleSource,
    insert_group_booking,
    new_booking_values,
)
from calisera.bookings.locks import lock_provider, lock_provider_of
from calisera.bookings.models import bookings
from calisera.bookings.occurrences import release_booking_time, update_booking
from calisera.bookings.queries import booking_out, load_booking
from calisera.bookings.records import record_change
from calisera.bookings.rules import check_change_allowed, check_start
from calisera.bookings.schemas import (
    MAX_SERIES_OCCURRENCES,
    BookingOut,
    SeriesCreate,
    SeriesOut,
    SkippedOccurrence,
)
from calisera.bookings.waitlist_offers import offer_free_seats, serve_waitlist_first
from calisera.core.errors import InvalidInput
from calisera.providers.schemas import ScheduleConfig

_REFUSALS = (SlotUnavailable, NotBookable, LimitReached)
"""What refuses one occurrence (a ``skip_unavailable`` series books around it)."""


@dataclass(frozen=True)
class CreatedSeries:
    series: SeriesOut
    manage_token: str


def series_starts(config: ScheduleConfig, request: SeriesCreate, first: datetime) -> list[datetime]:
    """The class's occurrences from ``first`` for ``request.weeks`` weeks or up to
    ``request.until`` (the provider's calendar), which must begin with ``first``."""
    if (request.weeks is None) == (request.until is None):
        raise InvalidInput.field("weeks", "give either weeks or until (one of them)")
    zone = ZoneInfo(config.timezone)
    first_day = first.astimezone(zone).date()
    if request.weeks is not None:
        last_day = first_day + timedelta(weeks=request.weeks, days=-1)
    else:
        assert request.until is not None
        last_day = request.until
        if last_day < first_day:
            raise InvalidInput.field("until", "the series ends before its first occurrence")
    definition = config.service.definition()
    starts = [
        s
        for s in scheduling.occurrences(definition, config.timezone, first_day, last_day)
        if s >= first
    ]
    if not starts or starts[0] != first:
        raise InvalidInput.field("start", "not an occurrence of the class")
    if len(starts) > MAX_SERIES_OCCURRENCES:
        field = "weeks" if request.weeks is not None else "until"
        raise InvalidInput.field(
            field,
            f"a series books at most {MAX_SERIES_OCCURRENCES} occurrences "
            f"(this one would have {len(starts)})",
        )
    return starts


def _skipped(
    start: datetime, exc: SlotUnavailable | NotBookable | LimitReached
) -> SkippedOccurrence:
    reason = "limit-reached" if isinstance(exc, LimitReached) else str(exc.extra.get("reason"))
    return SkippedOccurrence(start=start, reason=reason, detail=exc.detail or exc.title)


def _with_start(exc: SlotUnavailable | NotBookable | LimitReached, start: datetime) -> Exception:
    """The refusal of an ``all_or_nothing`` series, naming the occurrence that failed."""
    exc.extra = {**exc.extra, "start": start.isoformat()}
    exc.detail = f"The occurrence at {start.isoformat()} cannot be booked: {exc.detail}"
    return exc


def _members(rows: Sequence[Any]) -> list[events.SeriesMember]:
    return [
        events.SeriesMember(booking_id=r.id, version=r.version, start=r.start_at, end=r.end_at)
        for r in rows
    ]


def _series_data(series_id: uuid.UUID, rows: Sequence[Any], speaker: Any) -> dict[str, Any]:
    """``series`` of each booking's event: the first booking's speaks for all of them."""
    speaks = speaker.id == rows[0].id
    return {
        "series": events.SeriesInfo(
            id=series_id, speaks=speaks, members=_members(rows) if speaks else []
        )
    }


async def create_series(
    session: AsyncSession,
    schedules: ScheduleSource,
    provider_id: uuid.UUID,
    request: SeriesCreate,
    now: datetime,
    actor: Actor,
    *,
    seal_token: Callable[[str], str] | None = None,
    answers_required: bool = True,
) -> CreatedSeries:
    """Book the class's occurrences of the series, all or nothing or skipping what cannot
    be booked (``request.mode``); 409 when not one occurrence could be booked."""
    await lock_provider(session, provider_id)
    await expire_stale(session, provider_id, now)
    config = await schedules.schedule_config(request.service_id)
    service = config.service
    if service.kind != "class":
        raise InvalidInput.field(
            "service_id", "only classes are booked as a series; book this service one at a time"
        )
    if service.requires_confirmation:
        raise InvalidInput.field(
            "service_id",
            "this class confirms every booking by hand; book its occurrences one at a time",
        )
    answers = checked_answers(service.questions, request.answers, required=answers_required)
    starts = series_starts(config, request, request.start.astimezone(now.tzinfo))
    manage_token = secrets.token_urlsafe(32)
    token_hash = hash_manage_token(manage_token)
    series_id = uuid.uuid4()
    email = str(request.customer.email)
    rows: list[Any] = []
    skipped: list[SkippedOccurrence] = []
    for start in starts:
        try:
            async with session.begin_nested():
                await serve_waitlist_first(session, config, start, now)
                await check_start(session, config, start, request.seats, now)
                end = start + timedelta(minutes=service.duration_minutes)
                await check_customer_limits(session, service, email, start, end, now)
                values = new_booking_values(
                    config,
                    request,
                    start,
                    answers,
                    now,
                    manage_token_hash=token_hash,
                    series_id=series_id,
                )
                rows.append(await insert_group_booking(session, config, values))
        except _REFUSALS as exc:
            if request.mode == "all_or_nothing":
                raise _with_start(exc, start) from None
            skipped.append(_skipped(start, exc))
    if not rows:
        raise SlotUnavailable(
            "No occurrence of the series can be booked.",
            extra={"reason": "full", "skipped": [s.model_dump(mode="json") for s in skipped]},
        )
    created: dict[str, Any] = {"provider_slug": config.provider_slug}
    if seal_token is not None:
        created["manage_token_sealed"] = seal_token(manage_token)
    for row in rows:
        data = created | _series_data(series_id, rows, row)
        await record_change(session, row, "create", events.BOOKING_CREATED, actor, now, data=data)
    out = SeriesOut(
        id=series_id,
        service_id=service.id,
        bookings=[booking_out(r) for r in rows],
        skipped=skipped,
        manage_token=manage_token,
    )
    return CreatedSeries(out, manage_token)


async def series_of(session: AsyncSession, series_id: uuid.UUID) -> list[BookingOut]:
    """Every booking of the series by start, whatever its status."""
    b = bookings
    rows = (
        await session.execute(
            sa.select(b).where(b.c.series_id == series_id).order_by(b.c.start_at, b.c.id)
        )
    ).all()
    return [booking_out(r) for r in rows]


async def cancel_rest(
    session: AsyncSession,
    booking_id: uuid.UUID,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    config: ScheduleConfig | None = None,
) -> BookingOut:
    """Cancel this booking and every later one of its series still confirmed or pending,
    in one transaction: a customer only when the first of them is still within the
    service's cancellation notice (the later ones then are too). The answer is this
    booking; the others are in ``GET /api/v1/bookings/{id}/series``."""
    await lock_provider_of(session, booking_id)
    row = await load_booking(session, booking_id, for_update=True)
    if row.series_id is None:
        raise InvalidInput.field("scope", "this booking is not part of a series")
    await expire_stale(session, row.provider_id, now)
    b = bookings
    rest = (
        await session.execute(
            sa.select(b)
            .where(
                b.c.series_id == row.series_id,
                b.c.start_at >= row.start_at,
                b.c.status.in_(("confirmed", "pending")),
            )
            .order_by(b.c.start_at, b.c.id)
            .with_for_update()
        )
    ).all()
    if not rest:
        return booking_out(await load_booking(session, booking_id))
    if actor.kind == "customer":
        assert config is not None, "customer changes need the service's policy"
        for r in rest:
            if r.status == "confirmed":
                check_change_allowed(r, actor, config, now, "cancel")
    cancelled = []
    for r in rest:
        await release_booking_time(session, r)
        cancelled.append(await update_booking(session, r.id, status="cancelled", updated_at=now))
    await offer_free_seats(session, row.provider_id, now)  # the waitlists of those classes
    for r in cancelled:
        await record_change(
            session,
            r,
            "cancel",
            events.BOOKING_CANCELLED,
            actor,
            now,
            reason=reason,
            data=_series_data(row.series_id, cancelled, r),
        )
    return booking_out(await load_booking(session, booking_id))
