"""After a storm and its fault: wait for the pipeline to drain, then check that nothing
was lost or doubled. Each check returns what it found; :func:`verify` writes them all
(with what was injected) to ``faults.json`` in the test's tmp dir."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.faults.platform import Postgres, Sink
from tests.faults.storm import TRANSPORT, Storm


def drain(pg: Postgres, provider_id: str, timeout: float = 120) -> float:
    """Seconds until every delivery is confirmed and no message of the provider waits."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            [(open_deliveries,)] = pg.query(
                "SELECT count(*) FROM relay.deliveries"
                " WHERE confirmed_at IS NULL AND dead_at IS NULL"
            )
            [(waiting,)] = pg.query(
                "SELECT count(*) FROM notifications.messages WHERE provider_id = %s"
                " AND status IN ('pending', 'sending')",
                provider_id,
            )
            [(unrelayed,)] = pg.query(
                "SELECT count(*) FROM bookings.outbox o WHERE NOT EXISTS"
                " (SELECT 1 FROM relay.deliveries d WHERE d.event_id = o.id)"
                " AND o.provider_id = %s",
                provider_id,
            )
        except Exception:  # the database may still be coming back
            time.sleep(0.5)
            continue
        if open_deliveries == 0 and waiting == 0 and unrelayed == 0:
            return round(time.monotonic() - began, 2)
        time.sleep(0.5)
    raise AssertionError(f"the pipeline did not drain within {timeout}s")


def settle_ambiguous(storm: Storm) -> int:
    """A create left without a definite answer is retried once more with its key."""
    ambiguous = [
        c
        for c in storm.creates
        if c.booking is None
        and (not c.answers or c.answers[-1] == TRANSPORT or c.answers[-1] >= 500)
    ]
    with httpx.Client(base_url=storm.base, timeout=10) as http:
        for c in ambiguous:
            storm.retry_create(http, c, time.monotonic() + 20)
    return len(ambiguous)


def verify(
    pg: Postgres,
    sink: Sink,
    storm: Storm,
    provider: dict[str, str],
    out: Path,
    injected: list[dict[str, Any]],
) -> dict[str, Any]:
    pid = provider["provider_id"]
    report: dict[str, Any] = {"injected": injected, "storm": None, "checks": {}}
    report["ambiguous_creates_retried"] = settle_ambiguous(storm)
    report["drain_s"] = drain(pg, pid)
    report["storm"] = storm.summary()
    checks: dict[str, dict[str, Any]] = report["checks"]

    rows = pg.query(
        "SELECT id::text, customer_email, status, start_at, end_at, version FROM bookings.bookings"
        " WHERE provider_id = %s",
        pid,
    )
    by_email = Counter(r[1] for r in rows)
    ids = {r[0] for r in rows}
    answered = [c for c in storm.creates if c.booking is not None]
    refused = [c for c in storm.creates if c.booking is None]
    checks["every_201_exists"] = {
        "answered_201": len(answered),
        "missing": [c.booking["id"] for c in answered if c.booking and c.booking["id"] not in ids],
        "duplicated": [c.email for c in answered if by_email[c.email] != 1],
    }
    checks["no_refused_booking_exists"] = {
        "refused": len(refused),
        "final_answers": dict(Counter(c.answers[-1] for c in refused)),
        "existing": [c.email for c in refused if by_email[c.email]],
    }
    overlaps = pg.query(
        "SELECT a.id::text, b.id::text FROM bookings.bookings a JOIN bookings.bookings b"
        " ON a.provider_id = b.provider_id AND a.id < b.id"
        " AND tstzrange(a.start_at, a.end_at) && tstzrange(b.start_at, b.end_at)"
        " WHERE a.provider_id = %s AND a.status = 'confirmed' AND b.status = 'confirmed'",
        pid,
    )
    checks["no_overlap"] = {
        "confirmed": sum(r[2] == "confirmed" for r in rows),
        "overlapping": overlaps,
    }
    checks["email"] = _email(pg, sink, pid, rows)
    checks["analytics"] = _analytics(pg, pid, rows)
    checks["listing"] = _listing(storm, rows)

    failures = [
        name
        for name, found in checks.items()
        if any(
            found.get(k)
            for k in (
                "missing",
                "duplicated",
                "existing",
                "overlapping",
                "wrong",
                "booked_slots_listed",
            )
        )
    ]
    report["failures"] = failures
    out.write_text(json.dumps(report, indent=2, default=str))
    return report


def _email(pg: Postgres, sink: Sink, pid: str, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    at_sink = Counter(m[0] for m in sink.snapshot())
    messages = pg.query(
        "SELECT id::text, booking_id::text, template, payload->>'kind', status"
        " FROM notifications.messages WHERE provider_id = %s AND channel = 'email'",
        pid,
    )
    copies = {m[0]: at_sink.get(f"<{m[0]}@calisera>", 0) for m in messages}
    wrong = [
        {"message": m[0], "status": m[4], "copies": copies[m[0]]}
        for m in messages
        if not (
            (m[4] == "sent" and copies[m[0]] == 1) or (m[4] == "uncertain" and copies[m[0]] <= 1)
        )
    ]
    created = Counter((m[1], m[2]) for m in messages if m[3] == "created")
    for booking_id, _, status, _, _, version in rows:
        for template in ("customer", "provider"):
            n = created[(booking_id, template)]
            # untouched bookings must have had their confirmation; a booking changed
            # early may have had its booking.created skipped as stale (never twice)
            if n > 1 or (n == 0 and status == "confirmed" and version == 1):
                wrong.append({"booking": booking_id, "template": template, "created_messages": n})
    return {
        "messages": len(messages),
        "sent": sum(m[4] == "sent" for m in messages),
        "uncertain": sum(m[4] == "uncertain" for m in messages),
        "message_ids_twice_at_sink": sum(1 for n in at_sink.values() if n > 1),
        "wrong": wrong + [{"message_id": k, "copies": n} for k, n in at_sink.items() if n > 1],
    }


def _analytics(pg: Postgres, pid: str, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    projected = {
        r[0]: (r[1], r[2])
        for r in pg.query(
            "SELECT booking_id::text, status, start_at FROM analytics.bookings"
            " WHERE provider_id = %s",
            pid,
        )
    }
    truth = {r[0]: (r[2], r[3]) for r in rows}
    recount = Counter(s for s, _ in truth.values())
    counted = Counter(s for s, _ in projected.values())
    wrong = [
        {"booking": b, "bookings": truth.get(b), "analytics": projected.get(b)}
        for b in set(truth) | set(projected)
        if truth.get(b) != projected.get(b)
    ]
    return {"recount": dict(recount), "analytics": dict(counted), "wrong": wrong}


def _listing(storm: Storm, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    day = storm.day.isoformat()
    r = httpx.get(
        f"{storm.base}/api/v1/availability",
        params={"service_id": storm.service_id, "start": day, "end": day, "timezone": "UTC"},
        timeout=20,
    )
    r.raise_for_status()
    from datetime import datetime

    listed = {datetime.fromisoformat(s["start"]) for s in r.json()["slots"]}
    booked = {row[3] for row in rows if row[2] == "confirmed"}
    return {
        "slots_listed": len(listed),
        "booked": len(booked),
        "booked_slots_listed": sorted(str(b) for b in booked & listed),
    }
