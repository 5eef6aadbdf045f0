"""Request and response models of the listing service (the contract's types)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    seats_left: int


class AvailabilityOut(BaseModel):
    """``GET /api/v1/availability``: bookable slots, times in ``timezone``'s offset."""

    service_id: uuid.UUID
    timezone: str
    slots: list[SlotOut]
