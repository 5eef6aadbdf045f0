"""HTTP routes of the analytics service."""

from __future__ import annotations

from fastapi import APIRouter

from calisera.core.platform import ServiceSpec

router = APIRouter()

spec = ServiceSpec(name="analytics", routers=[router])
