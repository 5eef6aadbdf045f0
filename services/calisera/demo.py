"""``calisera demo``: a realistic provider built through the public API (filled later)."""

from __future__ import annotations

from calisera.core.settings import Settings


def run_demo(url: str, settings: Settings) -> str:
    raise SystemExit("calisera demo: needs the providers and bookings services")
