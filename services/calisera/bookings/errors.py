"""The bookings service's problems: one exception class per ``type`` slug.

Each class subclasses :class:`calisera.core.errors.Problem` with its own ``slug``, so
core's registry maps an answer carrying that ``type`` back to the same class in any
client (:func:`calisera.core.clients.raise_for_problem`): other services catch these
classes, re-exported by :mod:`calisera.bookings.client`, never copied slug strings.
"""

from __future__ import annotations

from calisera.core.errors import Conflict, FieldError, InvalidInput, NotFound


class SlotUnavailable(Conflict):
    """409: the slot was taken (or its seats filled) by someone else."""

    status, slug, title = 409, "slot-unavailable", "That time is no longer available"


class NotBookable(InvalidInput):
    """422: ``start`` is not a bookable slot of the service; ``reason`` says why."""

    status, slug, title = 422, "not-bookable", "That time cannot be booked"

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(
            detail or f"start is not a bookable slot ({reason})",
            errors=[FieldError("start", f"not a bookable slot: {reason}")],
            extra={"reason": reason},
        )
        self.reason = reason


class LimitReached(Conflict):
    """409: a booking limit of the service is reached; ``limit`` names the service field
    (``max_bookings_per_week``, ``max_open_bookings_per_customer``,
    ``min_gap_minutes_per_customer``)."""

    status, slug, title = 409, "limit-reached", "A booking limit of the service is reached"

    @classmethod
    def of(cls, limit: str, detail: str, *, reason: str | None = None) -> LimitReached:
        """``reason``: the scheduling engine's, when it found the limit (``weekly_limit``)."""
        extra = {"limit": limit} | ({"reason": reason} if reason else {})
        return cls(detail, extra=extra)

    @property
    def limit(self) -> str:
        return str(self.extra.get("limit", ""))


class InvalidTransition(Conflict):
    """409: the booking's status does not allow the change (e.g. cancel a completed one)."""

    status, slug, title = 409, "invalid-transition", "The booking cannot change that way"


class TooLateToChange(Conflict):
    """409: a customer's change after the service's cancellation notice."""

    status, slug, title = 409, "too-late-to-change", "Too late to change this booking"


class RequestExpired(Conflict):
    """409: the request was not answered before its ``expires_at``; its time is free."""

    status, slug, title = 409, "request-expired", "The booking request has expired"


class HoldExpired(Conflict):
    """409: the hold presented with a booking expired, was released or was used."""

    status, slug, title = 409, "hold-expired", "The hold has expired"


class BookingNotFound(NotFound):
    """404 for an unknown booking and for one the caller may not see (same answer)."""

    status, slug, title = 404, "booking-not-found", "No such booking"


class IdempotencyKeyReused(InvalidInput):
    """422: the Idempotency-Key was used before with another request body."""

    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key used for another request"


class IdempotencyInFlight(Conflict):
    """409: the first request with this Idempotency-Key is still running; retry later."""

    status, slug, title = 409, "idempotency-in-flight", "A request with this key is in progress"


class SeatsAvailable(Conflict):
    """409: the occurrence has the seats asked for: book them instead of waiting."""

    status, slug, title = 409, "seats-available", "Seats are available: book them instead"


class AlreadyWaiting(Conflict):
    """409: this e-mail address already waits (or holds an offer) for that occurrence."""

    status, slug, title = 409, "already-waiting", "Already on the waitlist"


class OfferExpired(Conflict):
    """409: the waitlist entry holds no open offer (it expired, was claimed, or the entry
    left or is still waiting); ``status`` says which."""

    status, slug, title = 409, "offer-expired", "The waitlist offer is not open"


class WaitlistEntryNotFound(NotFound):
    """404 for an unknown waitlist entry and for one the caller may not see."""

    status, slug, title = 404, "waitlist-entry-not-found", "No such waitlist entry"


CHANGE_REFUSED = (InvalidTransition, TooLateToChange, RequestExpired, LimitReached)
"""The problems of a change that the booking's state or policy refuses."""
