"""OpenTelemetry tracing: one tracer provider per process, OTLP export when configured.

Without ``OTEL_EXPORTER_OTLP_ENDPOINT`` spans are still created for requests and events
(trace ids appear in logs and in 500 problems, and travel in event envelopes) but
nothing is exported, and the library instrumentations (SQLAlchemy, httpx, Celery) stay
off: a span per SQL statement costs on the hot path and nobody would see it. With an
endpoint, :func:`instrument_libraries` turns them on and a batch processor exports to
``<endpoint>/v1/traces`` over OTLP/HTTP (protobuf).

The trace of a booking: the HTTP server span (FastAPI) -> the envelope's
``traceparent`` in the outbox row -> the relay's ``publish`` span -> the Celery
message's ``traceparent`` header -> the worker's ``consume`` span -> the SMTP send.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False
_libraries = False


def configure_tracing(service_name: str, otlp_endpoint: str | None) -> None:
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _configured = True
    if otlp_endpoint:
        instrument_libraries()


def instrument_libraries() -> None:
    """Trace httpx calls, Celery publishes and tasks, and every SQL statement of the
    engines made afterwards (:func:`instrument_engine`). Once per process."""
    global _libraries
    if _libraries:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    _libraries = True


def instrument_engine(engine: Any) -> None:
    """SQL spans for ``engine`` (an ``AsyncEngine``) when libraries are instrumented.

    Per engine: the instrumentor's global hook wraps ``sqlalchemy.create_engine``,
    which ``create_async_engine`` imported before any hook could wrap it."""
    if not _libraries:
        return
    from opentelemetry import metrics
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    usage = metrics.get_meter("calisera.sql").create_up_down_counter(
        "db.client.connections.usage", unit="connections"
    )
    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    EngineTracer(tracer, engine.sync_engine, usage)


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
