"""Log lines: JSON with the trace and span ids in production, console lines on request."""

from __future__ import annotations

import json
import logging

import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from calisera.core.logging import configure_logging
from calisera.core.settings import Settings


def _lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_every_json_line_inside_a_span_carries_its_trace_and_span_ids(capsys):
    configure_logging("INFO", json=True)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        structlog.get_logger("calisera.test").info("structlog_line", n=1)
        logging.getLogger("some.library").warning("stdlib line")
    structlog.get_logger("calisera.test").info("outside")
    inside, stdlib, outside = (json.loads(line) for line in _lines(capsys))
    context = span.get_span_context()
    for line in (inside, stdlib):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
    assert inside["event"] == "structlog_line" and inside["n"] == 1
    assert stdlib["event"] == "stdlib line" and stdlib["level"] == "warning"
    assert "trace_id" not in outside and "span_id" not in outside
    assert trace.get_current_span().get_span_context().is_valid is False


def test_console_format_renders_readable_lines_not_json(capsys):
    configure_logging("INFO", json=False)
    structlog.get_logger("calisera.test").info("booking_made", seats=2)
    [line] = _lines(capsys)
    assert "booking_made" in line and "seats=2" in line
    assert not line.lstrip().startswith("{")


def test_log_format_setting_is_json_or_console(monkeypatch):
    monkeypatch.setenv("CALISERA_LOG_FORMAT", "console")
    assert Settings().log_format == "console"
    monkeypatch.setenv("CALISERA_LOG_FORMAT", "xml")
    try:
        Settings()
    except ValueError as exc:
        assert "log_format" in str(exc)
    else:
        raise AssertionError("an unknown log format was accepted")
