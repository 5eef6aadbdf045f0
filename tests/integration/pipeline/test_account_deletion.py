"""Deleting an account erases its providers and their customers' personal data in every
service, through events: users records ``account.deleted``; the providers worker
removes the owned providers (``provider.deleted``); the bookings, notifications and
analytics workers erase what they keep of them. Proven by looking into every table of
every schema afterwards (the relay's transport records too) — and another owner's data
is all still there."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from calisera.assembly import build_app
from calisera.core.settings import SERVICE_NAMES
from tests.integration.pipeline.conftest import query, wait_for
from tests.integration.test_tenant_isolation import _open_business

pytestmark = pytest.mark.timeout(300)


def _tables(url: str) -> list[tuple[str, str]]:
    return [
        (s, t)
        for s, t in query(
            url,
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE' AND table_schema = ANY(%s)",
            [*SERVICE_NAMES, "relay"],
        )
    ]


def _found(url: str, *needles: str) -> dict[str, int]:
    """``schema.table`` -> rows whose text (every column) holds any of ``needles``."""
    hits: dict[str, int] = {}
    for schema, table in _tables(url):
        for needle in needles:
            [(count,)] = query(
                url,
                f'SELECT count(*) FROM "{schema}"."{table}" AS r WHERE r::text ILIKE %s',
                f"%{needle}%",
            )
            if count:
                hits[f"{schema}.{table} ({needle})"] = count
    return hits


async def test_deleting_an_account_erases_it_in_every_schema(make_pipeline: Any) -> None:
    pipeline = make_pipeline("embedded", dev_mailbox=True)
    url = pipeline.settings.database_url
    pipeline.start_relay()
    pipeline.relay.prune_interval = 1.0  # forget erased subjects' envelopes promptly
    for queue in ("notifications", "analytics", "providers", "bookings", "integrations"):
        pipeline.start_worker(queue)
    app = build_app(pipeline.settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            a = await _open_business(c, app, "alpha")
            b = await _open_business(c, app, "bravo")
            a_data = (a.customer_email, a.email, a.ids["provider_id"], a.ids["booking_id"])
            b_data = (b.customer_email, b.ids["provider_id"])
            # every service holds something of A before: the events went through
            wait_for(
                lambda: (
                    {"notifications", "analytics", "bookings", "providers", "users", "integrations"}
                    <= {hit.split(".")[0] for hit in _found(url, *a_data)}
                ),
                timeout=90,
                what="A's data in every service",
            )
            r = await c.delete("/api/v1/users/me", headers=a.headers)
            assert r.status_code == 204, r.text
            assert (await c.get("/api/v1/users/me", headers=a.headers)).json()["account_id"] is None

    def erased() -> bool:
        return not _found(url, *a_data)

    try:
        wait_for(erased, timeout=120, what="A erased everywhere")
    except AssertionError as exc:
        left_behind = _found(url, *a_data)
        raise AssertionError(f"left behind: {left_behind}\n{pipeline.logs()[-3000:]}") from exc
    left = _found(url, *b_data)
    for schema in ("providers", "bookings", "notifications", "analytics"):
        assert any(hit.startswith(schema + ".") for hit in left), (schema, left)
