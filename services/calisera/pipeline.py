"""The event pipeline's processes: outbox relay and queue workers (filled by the
event-pipeline work; until then ``up`` runs the HTTP services only)."""

from __future__ import annotations

from collections.abc import Callable

from calisera.core.settings import Settings


def local_background() -> list[Callable[[Settings], Callable[[], None]]]:
    return []


def run_worker(settings: Settings, queue: str, *, concurrency: int) -> None:
    raise SystemExit("calisera worker: the event pipeline is not built yet")


def run_relay(settings: Settings, *, once: bool) -> None:
    raise SystemExit("calisera relay: the event pipeline is not built yet")
