"""Calisera scheduling: pure availability math (no I/O, no clock, no database).

``free_slots`` lists the bookable slots of a service; ``check_bookable`` validates one
requested start by the same rules (raising ``NotBookable(reason)``). Decisions about
buffers and daylight-saving time are documented in :mod:`.availability` and
:mod:`.zones`.
"""

from calisera.scheduling.availability import REASONS, NotBookable, check_bookable, free_slots
from calisera.scheduling.zones import UnknownZone, zone

__all__ = ["REASONS", "NotBookable", "UnknownZone", "check_bookable", "free_slots", "zone"]
