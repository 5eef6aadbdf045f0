"""A real SMTP peer for benchmarks (aiosmtpd) that timestamps every accepted message."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Sink:
    """Accepted messages as (wall time accepted, recipients)."""

    accepted: list[tuple[float, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.accepted.append((time.time(), list(envelope.rcpt_tos)))
        return "250 OK"

    def first_at(self) -> dict[str, float]:
        """Each recipient's first acceptance time."""
        out: dict[str, float] = {}
        with self.lock:
            for at, rcpts in self.accepted:
                for r in rcpts:
                    out.setdefault(r.lower(), at)
        return out


def start_sink(port: int) -> tuple[Sink, Controller]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return sink, controller
