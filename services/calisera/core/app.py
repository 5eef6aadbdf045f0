"""The app factory every service uses: one FastAPI app for one or many services.

It adds what every Calisera process must have: request ids, structured access logs,
Prometheus metrics, tracing, problem+json errors, ``/healthz``, ``/readyz`` and
``/metrics``. The middleware is plain ASGI: it sits on the hot path of the
availability endpoint, where ``BaseHTTPMiddleware`` costs too much.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calisera.core.database import Database
from calisera.core.errors import (
    PayloadTooLarge,
    guard_static_paths,
    install_problem_handlers,
    problem_response,
)
from calisera.core.metrics import HTTP_LATENCY, HTTP_REQUESTS, metrics_endpoint
from calisera.core.openapi import document_problems
from calisera.core.platform import (
    Platform,
    ServiceLifespan,
    ServiceSpec,
    build_authenticator,
    run_lifespans,
)
from calisera.core.settings import Settings
from calisera.core.telemetry import configure_tracing, current_trace_id

log = structlog.get_logger("calisera.http")

MAX_BODY_BYTES = 1024 * 1024
MAX_IMAGE_BODY_BYTES = 8 * 1024 * 1024
"""An upload (``Content-Type: image/...``, or a ``multipart/form-data`` form carrying
one) may be larger; its route checks the rest (type, pixels) and counts the bytes of a
body without a length itself."""
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ObservabilityMiddleware:
    """Request id, access log, metrics and a body-size limit, in one pass."""

    def __init__(self, app: ASGIApp, service: str):
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:128] or uuid.uuid4().hex
        length = headers.get(b"content-length")
        kind = headers.get(b"content-type", b"").lower()
        upload = kind.startswith((b"image/", b"multipart/form-data"))
        limit = MAX_IMAGE_BODY_BYTES if upload else MAX_BODY_BYTES
        if length is not None and length.isdigit() and int(length) > limit:
            response = problem_response(
                PayloadTooLarge(f"Request bodies are limited to {limit} bytes.")
            )
            await response(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, template).observe(elapsed)
            path = scope["path"]
            if path not in _QUIET_PATHS:
                log.info(
                    "request",
                    method=method,
                    path=path,
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.clear_contextvars()


async def bind_trace_id() -> None:
    """Put the request span's trace id into every log line and 500 problem of the request.

    ``async`` on purpose: FastAPI runs a sync dependency in a worker thread, where the
    binding would be lost (a copied context) and the hop costs every request."""
    trace_id = current_trace_id()
    if trace_id:
        structlog.contextvars.bind_contextvars(trace_id=trace_id)


def create_app(
    specs: Sequence[ServiceSpec],
    settings: Settings,
    *,
    database: Database | None = None,
    title: str | None = None,
    peers: Sequence[ServiceLifespan] = (),
) -> FastAPI:
    """One ASGI app serving ``specs`` (one service, or all of them in ``calisera up``);
    ``peers`` run after the services' lifespans (see :func:`run_lifespans`)."""
    names = [s.name for s in specs]
    service_label = names[0] if len(names) == 1 else "platform"
    configure_tracing(f"calisera-{service_label}", settings.otel_exporter_otlp_endpoint)
    owns_database = database is None
    if settings.database_url is None and database is None:
        raise RuntimeError("DATABASE_URL is not set (calisera up sets it for the embedded server)")
    db = database or Database(
        settings.database_url or "",
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    authenticator, issuer = build_authenticator(settings)
    platform = Platform(
        settings=settings,
        db=db,
        authenticator=authenticator,
        hosted=frozenset(names),
        token_issuer=issuer,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with run_lifespans(platform, specs, peers):
            yield
        if owns_database:
            await db.dispose()

    app = FastAPI(
        dependencies=[Depends(bind_trace_id)],
        title=title or f"Calisera {service_label}",
        version="1.0",
        lifespan=lifespan,
        docs_url="/docs" if len(names) == 1 else "/api/docs",
        openapi_url="/openapi.json" if len(names) == 1 else "/api/openapi.json",
        redoc_url=None,
    )
    app.state.platform = platform
    platform.asgi_app = app
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_problem_handlers(app)

    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "services": names}

    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        ok = True
        try:
            await db.ping()
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            ok = False
            checks["database"] = f"unavailable: {exc.__class__.__name__}"
        for spec in specs:
            for check in spec.readiness:
                name = f"{spec.name}.{getattr(check, '__name__', 'check')}"
                try:
                    await check(platform)
                    checks[name] = "ok"
                except Exception as exc:
                    ok = False
                    checks[name] = f"unavailable: {exc}"
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    for spec in specs:
        # all of a service's routers at once: a fixed path of one (``/api/v1/bookings/
        # series``) is guarded against a templated sibling in another (``{booking_id}``)
        guard_static_paths(*spec.routers)
        for router in spec.routers:
            app.include_router(router)

    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz,metrics", exclude_spans=["receive", "send"]
    )
    app.add_middleware(ObservabilityMiddleware, service=service_label)
    return app


def platform_of(app: Any) -> Platform:
    platform: Platform = app.state.platform
    return platform
