"""Request and response models of the listing service (the contract's types)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from calisera.scheduling import EXPLANATIONS


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    seats_left: int


class AvailabilityOut(BaseModel):
    """``GET /api/v1/availability``: bookable slots, times in ``timezone``'s offset."""

    service_id: uuid.UUID
    timezone: str
    slots: list[SlotOut]


class ExplanationOut(BaseModel):
    """``GET /api/v1/availability/explain``: whether a time is offered, and if not, why
    (computed by the same function that lists the slots)."""

    service_id: uuid.UUID
    start: datetime
    seats: int
    offered: bool
    reason: str | None = Field(
        default=None,
        description="Null when offered; else one of: " + ", ".join(sorted(EXPLANATIONS)) + ".",
    )
    message: str | None = Field(default=None, description="The reason in a sentence.")
