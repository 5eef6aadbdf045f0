"""With ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, a real ``calisera serve`` process exports
its spans over OTLP/HTTP: a small collector started here receives the protobuf
``ExportTraceServiceRequest`` and decodes it with ``opentelemetry-proto``."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.e2e.processes import CALISERA, ROOT, free_port, stop, wait_healthy

pytestmark = pytest.mark.timeout(120)
ADMIN_TOKEN = "otlp-admin-token-0123456789abcdef"


class Collector:
    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self.content_types: list[str] = []

    def spans(self) -> list[tuple[str, str, object]]:
        """(service.name, span name, span) of everything received."""
        found = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        found.append((attrs.get("service.name", ""), span.name, span))
        return found


@pytest.fixture
def collector() -> Iterator[tuple[Collector, str]]:
    received = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.paths.append(self.path)
            received.content_types.append(self.headers.get("Content-Type", ""))
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            received.requests.append(request)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield received, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_serve_exports_request_and_sql_spans_to_the_otlp_endpoint(
    collector, database_url, tmp_path
):
    received, endpoint = collector
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALISERA_", "OTEL_"))}
    env.update(
        DATABASE_URL=database_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        CALISERA_ADMIN_TOKEN=ADMIN_TOKEN,
        CALISERA_DATA_DIR=str(tmp_path / "data"),
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            [*CALISERA, "serve", "providers", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        created = httpx.post(
            f"{base}/api/v1/providers",
            json={
                "slug": "otlp-studio",
                "name": "OTLP Studio",
                "timezone": "UTC",
                "owner_email": "owner@example.com",
            },
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "traceparent": TRACEPARENT},
        )
        assert created.status_code == 201, created.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            name == "POST /api/v1/providers" for _, name, _ in received.spans()
        ):
            time.sleep(0.2)
    finally:
        stop(proc)
    assert set(received.paths) == {"/v1/traces"}
    assert set(received.content_types) == {"application/x-protobuf"}
    spans = received.spans()
    [request] = [s for svc, name, s in spans if name == "POST /api/v1/providers"]
    assert {svc for svc, _, _ in spans} == {"calisera-providers"}
    assert request.trace_id.hex() == TRACEPARENT.split("-")[1]  # the caller's trace went on
    in_trace = [s for _, _, s in spans if s.trace_id == request.trace_id]
    sql = [s for s in in_trace if any(a.key.startswith("db.") for a in s.attributes)]
    assert sql, [s.name for s in in_trace]  # SQLAlchemy's instrumentation is on with export


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
