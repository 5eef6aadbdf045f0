"""One booking is one trace: ``POST /api/v1/bookings`` -> the outbox row's
``traceparent`` -> the relay's publish -> the message (a ``relay.deliveries`` row on
the table queue, a Celery message on RabbitMQ) -> the worker's consume -> the SMTP
send, all with the request's trace id.

The three processes' code runs in this test's process so that one in-memory exporter
sees every span: the services' ASGI app, the relay's ``run_once`` (a thread) and the
real worker: the table queue's in this event loop, or a real Celery worker consuming in
a thread (``celery.contrib.testing``); it sends to a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from calisera.core import telemetry
from calisera.core.queue import create_celery
from calisera.core.settings import Settings
from calisera.processes import worker
from calisera.processes.relay import build_relay
from calisera.processes.routing import load_consumers
from calisera.processes.table_worker import TableWorker
from tests.integration.pipeline.conftest import BROKERS, RUN_ID, _delete_queues, amqp_url, query


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch, app: object) -> Iterator[InMemorySpanExporter]:
    """Every span this process ends, with the libraries instrumented as they are when
    an OTLP endpoint is set (undone afterwards: other tests run untraced)."""
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider), "create_app installs the SDK provider"
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    was_instrumented = telemetry._libraries
    telemetry.instrument_libraries()
    try:
        yield exporter
    finally:
        exporter.shutdown()  # its processor stays registered, and drops what comes next
        if not was_instrumented:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            # Celery's stays: only this module runs Celery tasks in this process, and
            # instrumenting it again after an uninstrument made no task spans.
            HTTPXClientInstrumentor().uninstrument()
            monkeypatch.setattr(telemetry, "_libraries", False)


async def _eventually(predicate, within: float = 60.0, what: str = ""):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = [span]
    while chain[-1].parent is not None and chain[-1].parent.span_id in by_id:
        chain.append(by_id[chain[-1].parent.span_id])
    return chain


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[None]:
    """The worker of ``settings``'s transport, in this process."""
    if settings.broker_url is None:
        table = TableWorker(settings, {"notifications": load_consumers(settings)["notifications"]})
        task = asyncio.create_task(table.run())
        try:
            yield
        finally:
            table.stop()
            await task
        return
    worker.configure(settings)
    celery_app = create_celery(settings)
    worker.register_tasks(celery_app)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield
    finally:
        # what the in-thread worker opened goes with this test's database
        await asyncio.to_thread(worker.close_process_states)  # idle now
        worker.configure(settings)
        celery_app.close()
        _delete_queues(settings)


@pytest.mark.timeout(150)
@pytest.mark.parametrize("broker", BROKERS)
async def test_one_booking_is_one_trace_from_the_request_to_the_smtp_send(
    broker, client, admin_headers, settings, smtp, spans
):
    mailbox, smtp_url = smtp
    pipeline_settings = settings.with_changes(
        smtp_url=smtp_url,
        broker_url=amqp_url() if broker == "rabbitmq" else None,
        queue_prefix=f"t{RUN_ID}{uuid.uuid4().hex[:6]}.",
    )
    slug = f"trace-{uuid.uuid4().hex[:6]}"
    provider = await client.post(
        "/api/v1/providers",
        json={"slug": slug, "name": "Trace", "timezone": "UTC", "owner_email": "o@example.com"},
        headers=admin_headers,
    )
    assert provider.status_code == 201, provider.text
    provider_id = provider.json()["id"]
    service = await client.post(
        f"/api/v1/providers/{provider_id}/services",
        json={"name": "Haircut", "kind": "simple", "duration_minutes": 30},
        headers=admin_headers,
    )
    assert service.status_code == 201, service.text
    hours = await client.put(
        f"/api/v1/providers/{provider_id}/availability",
        json={"weekly": [{"weekday": d, "start": "00:00", "end": "23:30"} for d in range(7)]},
        headers=admin_headers,
    )
    assert hours.status_code == 200, hours.text

    relay_app = create_celery(pipeline_settings) if broker == "rabbitmq" else None
    relay = build_relay(pipeline_settings, relay_app)
    relay.metrics_interval = relay.prune_interval = 3600.0
    db = settings.database_url
    stop = asyncio.Event()

    async def run_relay() -> None:
        with relay.connect() as conn:
            while not stop.is_set():
                await asyncio.to_thread(relay.run_once, conn)
                await asyncio.sleep(0.1)

    async with running_worker(pipeline_settings):
        relaying = asyncio.create_task(run_relay())
        try:
            await _eventually(
                lambda: query(db, "SELECT 1 FROM notifications.providers WHERE slug = %s", slug),
                what="the provider read model",
            )
            start = (datetime.now(UTC) + timedelta(days=3)).replace(
                hour=9, minute=0, second=0, microsecond=0
            )
            booking = await client.post(
                "/api/v1/bookings",
                json={
                    "service_id": service.json()["id"],
                    "start": start.isoformat(),
                    "customer": {"name": "Ana", "email": "ana@example.com"},
                },
            )
            assert booking.status_code == 201, booking.text
            await _eventually(lambda: mailbox.to("ana@example.com"), what="the customer e-mail")
            await _eventually(
                lambda: len([s for s in spans.get_finished_spans() if s.name == "smtp send"]) >= 2,
                what="the SMTP spans",
            )
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await relaying
    if relay_app is not None:
        relay_app.close()

    finished = spans.get_finished_spans()
    [request] = [
        s for s in finished if s.kind == trace.SpanKind.SERVER and s.name == "POST /api/v1/bookings"
    ]
    trace_id = request.context.trace_id
    mine = [s for s in finished if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in mine}

    [(traceparent,)] = query(
        db,
        "SELECT envelope->>'traceparent' FROM bookings.outbox WHERE type = 'booking.created'",
    )
    assert traceparent.split("-")[1] == format(trace_id, "032x")
    names = {s.name for s in mine}
    assert "publish booking.created" in names, names
    assert "consume booking.created" in names, names
    sends = [s for s in mine if s.name == "smtp send"]
    assert len(sends) == 2, "customer and owner e-mails, both in the booking's trace"
    for send in sends:
        chain = [s.name for s in _ancestors(send, by_id)]
        assert chain[-1] == "POST /api/v1/bookings", chain  # one unbroken chain to the request
        assert "consume booking.created" in chain and "publish booking.created" in chain, chain
    # the instrumentations: SQL statements of the worker and Celery's own spans
    assert any(s.attributes and "db.system" in str(dict(s.attributes)) for s in mine), names
    if broker == "rabbitmq":
        assert any(s.name.startswith(("run/", "apply_async/")) for s in mine), names
