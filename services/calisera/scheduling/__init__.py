"""Calisera scheduling: pure availability math (no I/O, no clock, no database).

``free_slots`` lists the bookable slots of a service; ``explain`` says why a start is
not among them (``EXPLANATIONS``) and ``check_bookable`` validates one requested start
by that same function (raising ``NotBookable(reason)``); ``open_minutes``
measures the provider's working hours and ``occurrences`` lists an event's or class's
starts, for whoever counts capacity (analytics) by the same rules. Decisions about
buffers and daylight-saving time are documented in :mod:`.availability` and
:mod:`.zones`.
"""

from calisera.scheduling.availability import REASONS, NotBookable, free_slots
from calisera.scheduling.hours import open_minutes
from calisera.scheduling.reasons import EXPLANATIONS, check_bookable, explain
from calisera.scheduling.recurrence import occurrences
from calisera.scheduling.zones import UnknownZone, zone

__all__ = [
    "EXPLANATIONS",
    "REASONS",
    "NotBookable",
    "UnknownZone",
    "check_bookable",
    "explain",
    "free_slots",
    "occurrences",
    "open_minutes",
    "zone",
]
