"""Fixtures for the event pipeline: outbox rows like the bookings service writes, a real
SMTP server (aiosmtpd), real worker subprocesses, the relay, and the brokers (the
embedded PostgreSQL transport, and RabbitMQ at ``CALISERA_TEST_AMQP_URL``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from calisera.bookings.events import BOOKING_EVENTS
from calisera.core.database import libpq_url, schema_metadata, sqlalchemy_url
from calisera.core.events import EventEnvelope, new_event
from calisera.core.outbox import OUTBOX_CHANNEL, outbox_table
from calisera.core.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
RUN_ID = uuid.uuid4().hex[:8]
AMQP_DEFAULT = "amqp://guest:guest@127.0.0.1:5672//"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def amqp_url() -> str | None:
    """RabbitMQ for tests: the configured URL, or the local default when it answers."""
    url = os.environ.get("CALISERA_TEST_AMQP_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=0.5):
            return AMQP_DEFAULT
    except OSError:
        return None


BROKERS = [
    pytest.param("embedded", id="embedded"),
    pytest.param(
        "rabbitmq",
        id="rabbitmq",
        marks=[
            pytest.mark.broker,
            pytest.mark.skipif(
                amqp_url() is None,
                reason="no RabbitMQ: CALISERA_TEST_AMQP_URL unset and 127.0.0.1:5672 closed",
            ),
        ],
    ),
]


# --- SMTP ---------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What a real SMTP server accepted; ``hold``/``refuse`` simulate a slow or down peer."""

    messages: list[Message] = field(default_factory=list)
    hold_first: float = 0.0
    hold_first_rcpt: float = 0.0  # before DATA: the worker has not handed the content over
    delay: float = 0.0  # every DATA answer comes this late (a slow peer)
    drop_first_content: bool = False  # take the content, hang up without an answer
    refuse: bool = False
    connected: threading.Event = field(default_factory=threading.Event)
    _held: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.hold_first_rcpt and not self._held:
            self._held = True
            self.connected.set()
            await asyncio.sleep(self.hold_first_rcpt)
            return "451 4.3.0 held and dropped"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.connected.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drop_first_content and not self._held:
            self._held = True
            server.transport.close()
            return "250 OK"  # never reaches the client
        if self.refuse:
            return "451 4.3.0 mail system down, try later"
        if self.hold_first and not self._held:
            self._held = True
            await asyncio.sleep(self.hold_first)
            return "451 4.3.0 held and dropped"
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, str]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


# --- outbox -------------------------------------------------------------------------------

BOOKINGS_OUTBOX = outbox_table(schema_metadata("bookings"))


def ensure_bookings_outbox(database_url: str) -> None:
    """The bookings service's outbox (created here until that service's schema exists)."""
    engine = sa.create_engine(sqlalchemy_url(database_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS bookings"))
        BOOKINGS_OUTBOX.create(conn, checkfirst=True)
    engine.dispose()


def provider_created(
    provider_id: uuid.UUID, *, slug: str, owner_email: str = "owner@example.com"
) -> EventEnvelope:
    """A ``provider.created`` as the providers service emits it (Europe/Berlin, English)."""
    from calisera.providers.events import PROVIDER_CREATED, ProviderData

    return new_event(
        PROVIDER_CREATED,
        source="providers",
        aggregate_id=provider_id,
        aggregate_version=1,
        provider_id=provider_id,
        data=ProviderData(
            id=provider_id,
            slug=slug,
            name="Studio Aurora",
            timezone="Europe/Berlin",
            locale="en",
            owner_email=owner_email,
            booking_url=f"https://book.example.test/p/{slug}",
            qr_code_url=f"https://book.example.test/api/v1/providers/{provider_id}/qr",
        ),
    )


def booking_event(
    type_: str = "booking.created",
    *,
    booking_id: uuid.UUID | None = None,
    version: int = 1,
    start: datetime | None = None,
    email: str = "ana@example.test",
    phone: str | None = None,
    provider_id: uuid.UUID | None = None,
    extra: dict[str, Any] | None = None,
) -> EventEnvelope:
    """An envelope shaped exactly like the bookings service's (shared/API.md)."""
    booking_id = booking_id or uuid.uuid4()
    provider_id = provider_id or uuid.UUID("00000000-0000-4000-8000-000000000001")
    start = start or (datetime.now(UTC) + timedelta(days=3)).replace(
        minute=0, second=0, microsecond=0
    )
    data = {
        "booking_id": str(booking_id),
        "service_id": str(uuid.uuid4()),
        "service_kind": "simple",
        "service_name": "Haircut",
        "provider_id": str(provider_id),
        "provider_name": "Studio Aurora",
        "provider_timezone": "Europe/Berlin",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "seats": 1,
        "status": "cancelled" if type_ == "booking.cancelled" else "confirmed",
        "created_at": (start - timedelta(days=2)).isoformat(),
        "customer": {
            "name": "Ana Lima",
            "email": email,
            "phone": phone,
            "timezone": "America/Sao_Paulo",
        },
        "actor": "customer",
        **(extra or {}),
    }
    event_type = BOOKING_EVENTS[type_]
    return new_event(
        event_type,
        source="bookings",
        aggregate_id=booking_id,
        aggregate_version=version,
        provider_id=provider_id,
        data=event_type.data.model_validate(data),
    )


def insert_outbox(database_url: str, *events: EventEnvelope) -> None:
    """Commit ``events`` to the bookings outbox and NOTIFY, as ``record_event`` does."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        for event in events:
            conn.execute(
                "INSERT INTO bookings.outbox (id, type, aggregate_id, aggregate_version, "
                "provider_id, occurred_at, envelope) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    event.id,
                    event.type,
                    event.aggregate_id,
                    event.aggregate_version,
                    event.provider_id,
                    event.occurred_at,
                    psycopg.types.json.Jsonb(event.model_dump(mode="json")),
                ),
            )
        conn.execute("SELECT pg_notify(%s, 'bookings')", (OUTBOX_CHANNEL,))


# --- processes ---------------------------------------------------------------------------


@dataclass
class Pipeline:
    """A relay thread plus worker subprocesses, all on one test database and broker."""

    settings: Settings
    tmp: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    relay_thread: threading.Thread | None = None
    relay: Any = None

    def env(self) -> dict[str, str]:
        from calisera.processes.supervisor import process_environment

        env = process_environment(self.settings)
        env["PYTHONPATH"] = str(ROOT / "services")
        return env

    def start_worker(
        self,
        queue: str = "notifications",
        concurrency: int = 1,
        *,
        command: tuple[str, ...] | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """``calisera worker <queue>``, or another worker ``command`` (``python -m ...``)."""
        log = (self.tmp / f"worker-{len(self.workers)}.log").open("ab")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                *(command or ("calisera.cli", "worker", queue, "--concurrency", str(concurrency))),
            ],
            cwd=ROOT,
            env={**self.env(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the pool too
        )
        self.workers.append(proc)
        return proc

    def kill_worker(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):  # a worker that died already
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def start_relay(self) -> None:
        from calisera.core.queue import create_celery, uses_table_queue
        from calisera.processes.relay import build_relay

        app = None if uses_table_queue(self.settings) else create_celery(self.settings)
        self.relay = build_relay(self.settings, app)
        self.relay_thread = threading.Thread(target=self.relay.run, daemon=True)
        self.relay_thread.start()

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop_event.set()
            assert self.relay_thread is not None
            self.relay_thread.join(10)
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # warm shutdown, as `calisera up` does
        for proc in self.workers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            with contextlib.suppress(ProcessLookupError):  # no pool child may outlive it
                os.killpg(proc.pid, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("*.log")))


@pytest.fixture
def make_pipeline(settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Pipeline]]:
    made: list[Pipeline] = []

    def make(broker: str, **changes: Any) -> Pipeline:
        assert settings.database_url
        ensure_bookings_outbox(settings.database_url)
        prefix = f"t{RUN_ID}{uuid.uuid4().hex[:6]}."
        broker_url = amqp_url() if broker == "rabbitmq" else None
        configured = settings.with_changes(
            broker_url=broker_url,
            queue_prefix=prefix,
            relay_visibility_timeout=3.0,
            relay_poll_interval=0.5,
            retry_base_seconds=0.2,
            log_json=False,
            **changes,
        )
        pipeline = Pipeline(configured, tmp_path)
        made.append(pipeline)
        return pipeline

    yield make
    for pipeline in made:
        pipeline.stop()
        if pipeline.settings.broker_url:
            _delete_queues(pipeline.settings)


def _delete_queues(settings: Settings) -> None:
    from calisera.core.queue import CONSUMER_QUEUES, create_celery, queue_name

    app = create_celery(settings)
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for consumer in CONSUMER_QUEUES:
            try:
                channel.queue_delete(queue_name(settings, consumer))
            except Exception:
                channel = conn.channel()
        with contextlib.suppress(Exception):
            channel.exchange_delete(f"{settings.queue_prefix}calisera")


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def query(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
