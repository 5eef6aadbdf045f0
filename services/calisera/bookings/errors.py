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


class InvalidTransition(Conflict):
    """409: the booking's status does not allow the change (e.g. cancel a completed one)."""

    status, slug, title = 409, "invalid-transition", "The booking cannot change that way"


class TooLateToChange(Conflict):
    """409: a customer's change after the service's cancellation notice."""

    status, slug, title = 409, "too-late-to-change", "Too late to change this booking"


class BookingNotFound(NotFound):
    """404 for an unknown booking and for one the caller may not see (same answer)."""

    status, slug, title = 404, "booking-not-found", "No such booking"


class IdempotencyKeyReused(InvalidInput):
    """422: the Idempotency-Key was used before with another request body."""

    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key used for another request"


class IdempotencyInFlight(Conflict):
    """409: the first request with this Idempotency-Key is still running; retry later."""

    status, slug, title = 409, "idempotency-in-flight", "A request with this key is in progress"


CHANGE_REFUSED = (InvalidTransition, TooLateToChange)
"""The problems of a change that the booking's state or policy refuses."""
