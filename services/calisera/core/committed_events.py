"""In-process subscribers to the events this process has committed.

The outbox makes every change durable and tells every process through the broker; that
takes a relay hop. Some readers in the *same* process must know at once: the listing
cache must not offer a slot that was booked a millisecond ago. A service subscribes
here in its lifespan (listing subscribes to booking and schedule events); every event
written with :func:`calisera.core.outbox.record_event` is handed to the subscribers
after its transaction commits, through :mod:`calisera.core.after_commit`, so a
producer needs to know nothing of who listens.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from calisera.core.after_commit import AFTER_COMMIT_FAILURES
from calisera.core.events import EventEnvelope

Subscriber = Callable[[EventEnvelope], Awaitable[None]]


@dataclass(frozen=True)
class _Subscription:
    name: str
    patterns: tuple[str, ...]
    handler: Subscriber

    def wants(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, p) for p in self.patterns)


class CommittedEvents:
    """Who in this process wants to hear of a committed event, by type pattern."""

    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []

    def subscribe(self, name: str, patterns: Iterable[str], handler: Subscriber) -> None:
        """``name`` labels the job in logs and failure metrics (bounded: a service name)."""
        AFTER_COMMIT_FAILURES.labels(name)  # the series exists before the first failure
        self._subscriptions.append(_Subscription(name, tuple(patterns), handler))

    def unsubscribe(self, handler: Subscriber) -> None:
        self._subscriptions = [s for s in self._subscriptions if s.handler is not handler]

    def subscribers(self, event_type: str) -> list[tuple[str, Subscriber]]:
        return [(s.name, s.handler) for s in self._subscriptions if s.wants(event_type)]
