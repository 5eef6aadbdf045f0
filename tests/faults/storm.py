"""A seeded storm of mixed creates, cancels and reschedules against one service, from
client threads that behave like careful clients: a create carries an Idempotency-Key and
is retried with the same key and body on a 5xx or a broken connection, until it gets a
definite answer or the storm's retry budget runs out. Every attempt is recorded."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

TRANSPORT = -1  # no HTTP answer (refused, reset, timed out)


@dataclass
class Create:
    key: str
    body: dict[str, Any]
    answers: list[int] = field(default_factory=list)
    booking: dict[str, Any] | None = None

    @property
    def email(self) -> str:
        return str(self.body["customer"]["email"])


@dataclass
class Storm:
    base: str
    service_id: str
    seed: int
    seconds: float = 8.0
    clients: int = 3
    max_ops: int = 45
    pause: float = 0.3  # between a client's requests: the storm spans its seconds
    slots: int = 40
    creates: list[Create] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        day = datetime.now(UTC).date() + timedelta(days=20 + self.seed % 200)
        first = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=6)
        self.day = day
        self.pool = [(first + timedelta(minutes=15 * i)).isoformat() for i in range(self.slots)]
        self._ops = 0

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        threads = [
            threading.Thread(
                target=self._client, args=(random.Random(self.seed * 100 + i), deadline)
            )
            for i in range(self.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _take_op(self) -> bool:
        with self.lock:
            self._ops += 1
            return self._ops <= self.max_ops

    def _client(self, rng: random.Random, deadline: float) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as http:
            while time.monotonic() < deadline and self._take_op():
                time.sleep(rng.uniform(0, 2 * self.pause))
                with self.lock:
                    mine = [c for c in self.creates if c.booking is not None]
                roll = rng.random()
                if roll < 0.6 or not mine:
                    self._create(http, rng, deadline)
                elif roll < 0.8:
                    self._change(http, rng.choice(mine), "cancel", {}, deadline)
                else:
                    body = {"start": rng.choice(self.pool)}
                    self._change(http, rng.choice(mine), "reschedule", body, deadline)

    def _send(
        self, http: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> httpx.Response | None:
        began = time.monotonic()
        try:
            r = http.post(path, json=body, headers=headers)
        except httpx.HTTPError:
            return None
        with self.lock:
            self.latencies.append(time.monotonic() - began)
        return r

    def _create(self, http: httpx.Client, rng: random.Random, deadline: float) -> None:
        n = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
        create = Create(
            key=f"storm-{self.seed}-{n}",
            body={
                "service_id": self.service_id,
                "start": rng.choice(self.pool),
                "customer": {"name": f"Storm {n}", "email": f"storm-{n}@example.com"},
            },
        )
        with self.lock:
            self.creates.append(create)
        self.retry_create(http, create, deadline + 30)

    def retry_create(self, http: httpx.Client, create: Create, until: float) -> None:
        """Until a definite answer (not 5xx, not a broken connection) or ``until``."""
        pause = 0.2
        while True:
            r = self._send(http, "/api/v1/bookings", create.body, {"Idempotency-Key": create.key})
            status = TRANSPORT if r is None else r.status_code
            create.answers.append(status)
            if r is not None and status == 201:
                create.booking = r.json()
            if (status != TRANSPORT and status < 500) or time.monotonic() > until:
                return
            time.sleep(pause)
            pause = min(2.0, pause * 2)

    def _change(
        self, http: httpx.Client, create: Create, action: str, body: dict[str, Any], deadline: float
    ) -> None:
        assert create.booking is not None
        booking = create.booking
        headers = {"X-Manage-Token": booking["manage_token"]}
        answers: list[int] = []
        pause = 0.2
        while True:
            r = self._send(http, f"/api/v1/bookings/{booking['id']}/{action}", body, headers)
            status = TRANSPORT if r is None else r.status_code
            answers.append(status)
            if (status != TRANSPORT and status < 500) or time.monotonic() > deadline + 30:
                break
            time.sleep(pause)
            pause = min(2.0, pause * 2)
        with self.lock:
            self.others.append(
                {"action": action, "booking_id": booking["id"], **body, "answers": answers}
            )

    def summary(self) -> dict[str, Any]:
        finals: dict[str, int] = {}
        for c in self.creates:
            key = str(c.answers[-1]) if c.answers else "none"
            finals[key] = finals.get(key, 0) + 1
        changes: dict[str, int] = {}
        for o in self.others:
            key = f"{o['action']} {o['answers'][-1]}"
            changes[key] = changes.get(key, 0) + 1
        lat = sorted(self.latencies)
        return {
            "seed": self.seed,
            "creates": len(self.creates),
            "create_final_answers": finals,
            "create_retries": sum(len(c.answers) - 1 for c in self.creates),
            "changes": changes,
            "p50_s": lat[len(lat) // 2] if lat else None,
            "p99_s": lat[int(len(lat) * 0.99)] if lat else None,
        }
