"""Booking committed -> e-mail accepted by the SMTP server: latency and throughput.

Target: p95 under 1 s on the embedded default (PostgreSQL transport, no RabbitMQ).
Runs the real processes: ``calisera relay`` and ``calisera worker notifications``
subprocesses and a real SMTP server (aiosmtpd). Bookings are made through the real
providers and bookings APIs (the app in this process, as in the tests); latency runs
from the 201 answer (the booking's transaction has committed) to the SMTP server
accepting the customer's e-mail. ``--raw-outbox`` instead commits outbox rows shaped
like the bookings service's, isolating the pipeline. Reference in the same run: one
direct SMTP send from this process (the floor any pipeline pays).

    python -m bench.notifications [--events 60] [--burst 200] [--broker amqp://...]

Writes ``bench/results/notifications.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import psycopg
from aiosmtpd.controller import Controller
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


class Clock:
    """SMTP handler noting when each recipient's mail was accepted."""

    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.time()
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.accepted.setdefault(str(msg["To"]), now)
        return "250 OK"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def envelope(email: str) -> dict[str, Any]:
    booking_id = uuid.uuid4()
    provider_id = uuid.UUID("00000000-0000-4000-8000-00000000be01")
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    return {
        "id": str(uuid.uuid4()),
        "type": "booking.created",
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "source": "bookings",
        "aggregate_id": str(booking_id),
        "aggregate_version": 1,
        "provider_id": str(provider_id),
        "data": {
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
            "status": "confirmed",
            "customer": {"name": "Ana", "email": email, "phone": None, "timezone": None},
            "actor": "customer",
        },
        "traceparent": None,
    }


def commit_booking(conn: psycopg.Connection[Any], email: str) -> float:
    env = envelope(email)
    with conn.transaction():
        conn.execute(
            "INSERT INTO bookings.outbox (id, type, aggregate_id, aggregate_version, "
            "provider_id, occurred_at, envelope) VALUES (%s, %s, %s, 1, %s, now(), %s)",
            (
                env["id"],
                env["type"],
                env["aggregate_id"],
                env["provider_id"],
                psycopg.types.json.Jsonb(env),
            ),
        )
        conn.execute("SELECT pg_notify('calisera_outbox', 'bookings')")
    return time.time()


def prepare_database(server_url: str) -> str:
    from sqlalchemy.engine import make_url

    from calisera.core.migrations import upgrade_all

    name = f"calisera_bench_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade_all(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bookings")
        if conn.execute("SELECT to_regclass('bookings.outbox')").fetchone() == (None,):
            conn.execute(  # the bookings service's outbox, as created by its migration
                "CREATE TABLE bookings.outbox (seq bigint GENERATED ALWAYS AS IDENTITY "
                "PRIMARY KEY, id uuid NOT NULL UNIQUE, type text NOT NULL, aggregate_id uuid "
                "NOT NULL, aggregate_version integer NOT NULL, provider_id uuid, occurred_at "
                "timestamptz NOT NULL, envelope jsonb NOT NULL, published_at timestamptz, "
                "attempts integer NOT NULL DEFAULT 0, last_error text)"
            )
    return url


def wait_all(clock: Clock, emails: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with clock.lock:
            if all(e in clock.accepted for e in emails):
                return
        time.sleep(0.01)
    missing = [e for e in emails if e not in clock.accepted]
    raise SystemExit(f"{len(missing)} e-mails never arrived (of {len(emails)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60, help="sequential bookings (latency)")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between them")
    parser.add_argument("--burst", type=int, default=200, help="bookings at once (throughput)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--broker", default=None, help="e.g. amqp://guest:guest@127.0.0.1//")
    parser.add_argument("--log-level", default="WARNING", help="of the relay and worker")
    parser.add_argument(
        "--raw-outbox", action="store_true", help="commit outbox rows instead of booking"
    )
    args = parser.parse_args()

    from calisera.core.database import libpq_url
    from calisera.core.embedded import EmbeddedPostgres

    embedded = None
    if os.environ.get("DATABASE_URL"):
        server_url = libpq_url(os.environ["DATABASE_URL"])
    else:
        embedded = EmbeddedPostgres(ROOT / ".calisera" / "bench-postgres")
        server_url = embedded.start()
    url = prepare_database(server_url)

    clock = Clock()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    smtp = Controller(clock, hostname="127.0.0.1", port=smtp_port)
    smtp.start()

    env = {k: v for k, v in os.environ.items() if not k.startswith("CALISERA_")}
    env.update(
        {
            "DATABASE_URL": url,
            "CALISERA_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CALISERA_LOG_LEVEL": args.log_level,
            "CALISERA_QUEUE_PREFIX": f"bench{os.getpid()}.",
            "PYTHONPATH": str(ROOT / "services"),
        }
    )
    if args.broker:
        env["CALISERA_BROKER_URL"] = args.broker
    cli = [sys.executable, "-m", "calisera.cli"]
    logs = Path(tempfile.mkdtemp(prefix="calisera-bench-"))
    procs = [
        subprocess.Popen(
            [*cli, "worker", "notifications", "--concurrency", str(args.concurrency)],
            env=env,
            stdout=(logs / "worker.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
        subprocess.Popen(
            [*cli, "relay"],
            env=env,
            stdout=(logs / "relay.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
    ]
    try:
        if args.raw_outbox:
            latencies, burst_seconds = _run_raw(url, clock, args)
        else:
            latencies, burst_seconds = asyncio.run(_run_api(url, clock, args))

        reference = []
        for i in range(20):
            t0 = time.time()
            asyncio.run(_direct_send(smtp_port, f"ref{i}@bench.example"))
            reference.append(time.time() - t0)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        smtp.stop()
        if embedded is not None:
            embedded.stop()

    result = {
        "benchmark": "notifications",
        "measured_at": datetime.now(UTC).isoformat(),
        "broker": "rabbitmq" if args.broker else "embedded (kombu SQLAlchemy on PostgreSQL)",
        "path": "outbox rows" if args.raw_outbox else "bookings API (201) -> SMTP accepted",
        "worker_concurrency": args.concurrency,
        "commit_to_smtp_accepted_seconds": {
            "n": len(latencies),
            "p50": round(statistics.median(latencies), 4),
            "p95": round(percentile(latencies, 0.95), 4),
            "max": round(max(latencies), 4),
        },
        "target_p95_seconds": 1.0,
        "burst": {
            "bookings": args.burst,
            "seconds_until_last_email": round(burst_seconds, 3),
            "bookings_per_second": round(args.burst / burst_seconds, 1),
            "note": "one task per booking; it sends the customer's e-mail (and the owner's "
            "when the provider is known, as in the API path)",
        },
        "reference_direct_smtp_send_seconds": {
            "p50": round(statistics.median(reference), 4),
            "p95": round(percentile(reference, 0.95), 4),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = (
        "notifications"
        + ("-rabbitmq" if args.broker else "")
        + ("-raw-outbox" if args.raw_outbox else "")
    )
    name += ".json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _run_raw(url: str, clock: Clock, args: argparse.Namespace) -> tuple[list[float], float]:
    with psycopg.connect(url) as conn:
        warm = [f"warm{i}@bench.example" for i in range(3)]
        for e in warm:
            commit_booking(conn, e)
        wait_all(clock, warm, 60)
        latencies = []
        for i in range(args.events):
            email = f"seq{i}@bench.example"
            committed = commit_booking(conn, email)
            wait_all(clock, [email], 30)
            latencies.append(clock.accepted[email] - committed)
            time.sleep(args.gap)
        burst = [f"burst{i}@bench.example" for i in range(args.burst)]
        started = time.time()
        for e in burst:
            commit_booking(conn, e)
        wait_all(clock, burst, 300)
    return latencies, max(clock.accepted[e] for e in burst) - started


async def _run_api(url: str, clock: Clock, args: argparse.Namespace) -> tuple[list[float], float]:
    import httpx

    from calisera.assembly import build_app
    from calisera.core.logging import configure_logging
    from calisera.core.settings import Settings
    from calisera.core.tokens import generate_private_key_pem

    admin = {"Authorization": "Bearer bench-admin-token-0123456789"}
    settings = Settings.model_validate(
        {
            "database_url": url,
            "admin_token": admin["Authorization"].split()[1],
            "jwt_private_key": generate_private_key_pem(),
            "log_level": "WARNING",
            "data_dir": tempfile.mkdtemp(prefix="calisera-bench-data-"),
        }
    )
    configure_logging("WARNING", json=False)
    app = build_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http,
    ):
        provider = await http.post(
            "/api/v1/providers",
            json={
                "slug": f"bench-{os.getpid()}",
                "name": "Bench Studio",
                "timezone": "UTC",
                "owner_email": "owner@bench.example.com",
            },
            headers=admin,
        )
        provider.raise_for_status()
        provider_id = provider.json()["id"]
        service = await http.post(
            f"/api/v1/providers/{provider_id}/services",
            json={"name": "Session", "kind": "simple", "duration_minutes": 15},
            headers=admin,
        )
        service.raise_for_status()
        (
            await http.put(
                f"/api/v1/providers/{provider_id}/availability",
                json={
                    "weekly": [{"weekday": d, "start": "00:00", "end": "23:45"} for d in range(7)]
                },
                headers=admin,
            )
        ).raise_for_status()
        first = (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        slots = (  # every 15-minute slot that ends by 23:45
            t
            for t in (first + timedelta(minutes=15 * i) for i in range(10_000))
            if (t.hour, t.minute) != (23, 45)
        )

        async def book(email: str) -> float:
            response = await http.post(
                "/api/v1/bookings",
                json={
                    "service_id": service.json()["id"],
                    "start": next(slots).isoformat(),
                    "customer": {"name": "Bench", "email": email},
                },
            )
            response.raise_for_status()
            return time.time()

        warm = [f"warm{i}@bench.example.com" for i in range(3)]
        for e in warm:
            await book(e)
        await asyncio.to_thread(wait_all, clock, warm, 60)
        latencies = []
        for i in range(args.events):
            email = f"seq{i}@bench.example.com"
            committed = await book(email)
            await asyncio.to_thread(wait_all, clock, [email], 30)
            latencies.append(clock.accepted[email] - committed)
            await asyncio.sleep(args.gap)
        burst = [f"burst{i}@bench.example.com" for i in range(args.burst)]
        started = time.time()
        limit = asyncio.Semaphore(8)

        async def limited(email: str) -> float:
            async with limit:
                return await book(email)

        await asyncio.gather(*(limited(e) for e in burst))
        await asyncio.to_thread(wait_all, clock, burst, 300)
    return latencies, max(clock.accepted[e] for e in burst) - started


async def _direct_send(port: int, to: str) -> None:
    from email.message import EmailMessage

    import aiosmtplib

    msg = EmailMessage()
    msg["From"] = "bench@calisera.localhost"
    msg["To"] = to
    msg["Subject"] = "reference"
    msg.set_content("reference")
    await aiosmtplib.send(msg, hostname="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
