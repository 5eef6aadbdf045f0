"""Why a start is not offered: the one check behind both the slots and the bookings.

:func:`explain` walks the same plan as :func:`calisera.scheduling.availability.free_slots`
(same grid, same forbidden ranges, same seat counts) and names the first rule a start
breaks, in the order a provider reads their own settings: suspended provider or
archived service, past, minimum notice, booking window, hours (weekly hours or that
date's override), slot grid or occurrence, daily limit, weekly limit, a booking's own
time, time off, a booking's buffer, seats. It returns ``None`` exactly when
``free_slots`` offers the start with at least ``seats`` seats (a property test holds
the two together), so the provider app's answer can never disagree with the booking page.

:func:`check_bookable` is :func:`explain` raising :class:`NotBookable` with the coarser
reasons the bookings API has always answered (:data:`COARSE`).
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime

from calisera.scheduling.availability import NotBookable, _blocks, _Plan, notice_bounds
from calisera.scheduling.model import AvailabilityQuery, ServiceKind
from calisera.scheduling.recurrence import occurrence_starts
from calisera.scheduling.zones import MINUTES_PER_DAY, local_day_and_minute, to_minutes, zone

EXPLANATIONS = {
    "provider_suspended": "The provider is suspended and takes no bookings.",
    "inactive": "The service is archived or not bookable.",
    "in_past": "That time is in the past.",
    "too_soon": "That time is sooner than the service's minimum notice.",
    "too_far": "That time is beyond the service's booking window.",
    "outside_hours": "The provider's weekly hours do not cover that time.",
    "override": "The provider changed their hours on that date (a date override).",
    "misaligned": "That time is inside the hours but not on the service's slot grid.",
    "not_scheduled": "The event or class does not take place at that time.",
    "daily_limit": "The service has reached its bookings limit for that day.",
    "weekly_limit": "The service has reached its bookings limit for that week.",
    "booked": "The provider is booked at that time.",
    "time_off": "The provider has time off then.",
    "buffer": "That time falls in the buffer before or after another booking.",
    "full": "Not enough seats are left at that time.",
}
"""Every reason :func:`explain` can give, with the sentence shown for it."""

COARSE = {
    "provider_suspended": "inactive",
    "outside_hours": "outside_availability",
    "override": "outside_availability",
    "not_scheduled": "outside_availability",
    "time_off": "outside_availability",
    "booked": "taken",
    "buffer": "taken",
}
"""Fine reason -> the reason of :class:`NotBookable` (others are the same word)."""


def _booked_itself(plan: _Plan, t: int) -> bool:
    """Whether booked time itself (no buffers) overlaps ``[t, t + duration)``: a booking
    or booked occurrence other than this occurrence's own seats, or (for one-to-one
    services) an occurrence of the provider's events and classes."""
    dur, service = plan.duration, plan.service
    simple = service.kind == ServiceKind.SIMPLE
    for b in plan.query.busy:
        start = to_minutes(b.start)
        if not simple and b.service_id == service.id and start == t:
            continue
        if start < t + dur and t < to_minutes(b.end):
            return True
    if not simple:
        return False
    for other in plan.query.other_services:
        if not _blocks(other, service):
            continue
        margin = 2 + other.duration_minutes // MINUTES_PER_DAY
        for s in occurrence_starts(other, plan.tz, plan.first_day - margin, plan.last_day + 1):
            if s < t + dur and t < s + other.duration_minutes:
                return True
    return False


def _time_off(plan: _Plan, t: int) -> bool:
    return plan.forbidden.contains(t) and not plan.booked(t)


def explain(query: AvailabilityQuery, start: datetime, seats: int = 1) -> str | None:
    """Why ``start`` is not offered for ``seats`` (a key of :data:`EXPLANATIONS`), or
    ``None`` when it is. Only ``start``'s provider-local day is computed: the query's
    date range is ignored, its busy time and seats need only cover that day (plus
    buffers)."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if seats < 1:
        raise ValueError("seats must be at least 1")
    service = query.service
    if query.schedule.suspended:
        return "provider_suspended"
    if not service.active or service.duration_minutes <= 0:
        return "inactive"
    if start < query.now:
        return "in_past"
    earliest, latest = notice_bounds(query)
    exact = start.timestamp()
    if exact < earliest * 60:
        return "too_soon"
    if exact > latest * 60:
        return "too_far"
    t = to_minutes(start)
    day, _ = local_day_and_minute(zone(query.schedule.timezone), t)
    plan = _Plan(query, day, day)
    dur = plan.duration
    if service.kind == ServiceKind.SIMPLE:
        grid = plan.grid(day) if plan.step > 0 else []
        i = bisect_left(grid, t)
        if exact != t * 60 or i == len(grid) or grid[i] != t:
            if any(a <= t and t + dur <= b for a, b in plan.hours.instant_intervals(day)):
                return "misaligned"
            return "override" if day in plan.hours.overrides else "outside_hours"
        if plan.at_daily_limit(day):
            return "daily_limit"
        if plan.at_weekly_limit(day):
            return "weekly_limit"
        if plan.forbidden.contains(t):
            if _booked_itself(plan, t):
                return "booked"
            return "time_off" if _time_off(plan, t) else "buffer"
        left = service.capacity
    else:
        if exact != t * 60 or t not in plan.occurrences(day, day):
            return "not_scheduled"
        if plan.occurrence_blocked(t):
            return "booked" if _booked_itself(plan, t) else "buffer"
        left = service.capacity - plan.seats_taken.get(t, 0)
    if left < seats:
        return "full"
    return None


def check_bookable(query: AvailabilityQuery, start: datetime, seats: int = 1) -> None:
    """Raise :class:`NotBookable` unless ``start`` is a slot ``free_slots`` offers with
    at least ``seats`` seats left (the reasons of :func:`explain`, made coarser)."""
    reason = explain(query, start, seats)
    if reason is not None:
        raise NotBookable(COARSE.get(reason, reason))
