"""HTTP routes of the bookings service."""

from __future__ import annotations

from fastapi import APIRouter

from calisera.core.platform import ServiceSpec

router = APIRouter()

spec = ServiceSpec(name="bookings", routers=[router])
