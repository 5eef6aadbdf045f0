"""Exponential backoff: the one rule for how long to wait before trying again.

Every retry of the platform waits ``base * factor ** (attempt - 1)`` seconds, capped at
``cap``, for its ``attempt``-th retry (1 = the first): a supervisor restarting a child,
a worker retrying a delivery, a notification send, a fetch of the users service's key set.

Jitter spreads retries that started together (a broker outage fails many deliveries at
once) so they do not all come back at the same instant: with ``jitter=j`` the delay is
drawn uniformly from ``[step * (1 - j), step]``. ``jitter=1.0`` is "full jitter" (anywhere
between zero and the step, the best spread); ``jitter=0.5`` keeps at least half the step
(a retry never comes back almost at once); ``0.0`` (the default) is no jitter.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry number ``attempt``; see the module docstring."""

    base: float
    """Seconds before the first retry (before jitter)."""
    cap: float = math.inf
    """The longest wait, however many attempts failed."""
    factor: float = 2.0
    jitter: float = 0.0
    """Fraction of the step that is random: 0 none, 1 full jitter."""
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    """Uniform in [0, 1); tests pass a seeded ``random.Random().random``."""

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or self.factor < 1:
            raise ValueError("backoff needs base >= 0, cap >= 0 and factor >= 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("backoff jitter is a fraction between 0 and 1")

    def step(self, attempt: int) -> float:
        """The capped delay of retry ``attempt`` (1-based) before jitter."""
        try:
            step = self.base * self.factor ** (max(attempt, 1) - 1)
        except OverflowError:  # thousands of attempts: the cap applied long ago
            return self.cap if self.base else 0.0
        return float(min(self.cap, step))

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1-based), jitter applied."""
        step = self.step(attempt)
        return step * (1.0 - self.jitter * self.random())
