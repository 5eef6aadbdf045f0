"""What every screen of the web service costs: server render time and first-load weight.

The whole platform in-process through the ASGI app on a real PostgreSQL (as ``calisera
up`` assembles it). A provider is made through the public API, a customer books once,
and the provider signs in to the console through its own magic-link form and the
development mailbox. For each screen (customer pages and console screens) it records:

- render time of the HTML, p50/p95 over ``ROUNDS`` requests, beside ``/healthz`` measured
  in the same run (the ratio is what stays comparable between machines);
- first-load weight: the HTML plus every stylesheet and script it links, each gzip-compressed
  (level 6, what a proxy sends), against the issue's budget of 100 KB.

Run: ``.venv/bin/python -m bench pages`` (``DATABASE_URL`` or an embedded server under
``.calisera/bench-postgres``). Writes ``bench/results/pages.json`` and ``.md``. It asserts
nothing about time.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from calisera.assembly import build_app
from calisera.core.database import libpq_url
from calisera.core.migrations import upgrade_all
from calisera.core.settings import Settings
from calisera.core.tokens import generate_private_key_pem

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "pages.json"
ADMIN = "bench-admin-token-0123456789"
ROUNDS = 40
BUDGET_BYTES = 100 * 1024
ZONE = "Europe/Berlin"
ASSETS = re.compile(r'<(?:link rel="stylesheet" href|script src)="(/[^"]+)"')
LINK = re.compile(r"/auth/magic-link/callback\?token=[\w-]+")


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 400, (response.request.url, response.status_code, response.text)
    return response.json() if "json" in response.headers.get("content-type", "") else None


async def _provider(c: httpx.AsyncClient, owner: str) -> dict[str, Any]:
    """A studio with one service of each kind and every day open, owned by ``owner``."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    provider = _ok(
        await c.post(
            "/api/v1/providers",
            headers=admin,
            json={
                "slug": "bench-studio",
                "name": "Bench Studio",
                "timezone": ZONE,
                "owner_email": owner,
                "bio": "Portraits and light in Kreuzberg.",
                "listed": True,
                "city": "Berlin",
                "booking_page": {"accent_color": "#7c3aed", "welcome_text": "Willkommen!"},
            },
        )
    )
    pid = provider["id"]
    week = [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)]
    _ok(
        await c.put(
            f"/api/v1/providers/{pid}/availability",
            headers=admin,
            json={"weekly": week, "overrides": []},
        )
    )
    simple = _ok(
        await c.post(
            f"/api/v1/providers/{pid}/services",
            headers=admin,
            json={"name": "Portrait session", "kind": "simple", "duration_minutes": 30},
        )
    )
    _ok(
        await c.post(
            f"/api/v1/providers/{pid}/services",
            headers=admin,
            json={
                "name": "Evening photo walk",
                "kind": "class",
                "duration_minutes": 90,
                "capacity": 6,
                "recurrence": {
                    "rrule": "FREQ=DAILY",
                    "start_time": "18:30",
                    "starts_on": today.isoformat(),
                },
            },
        )
    )
    return {"provider": provider, "simple": simple, "today": today}


async def _console_cookie(c: httpx.AsyncClient, email: str) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    _ok(await c.post("/console/sign-in/magic-link", data={"email": email}))
    box = _ok(await c.get("/api/v1/notifications/dev/mailbox", headers=admin))
    [link] = {m.group(0) for i in box["items"] for m in LINK.finditer(i["text"])}
    followed = await c.get(link)
    landed = await c.get(followed.headers["location"])
    return {"Cookie": landed.headers["set-cookie"].split(";", 1)[0]}


async def _timed(c: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        r = await c.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95)], 2),
    }


async def _weight(c: httpx.AsyncClient, path: str, headers: dict[str, str]) -> dict[str, int]:
    page = await c.get(path, headers=headers)
    assert page.status_code == 200, (path, page.status_code)
    sizes = {"html": len(gzip.compress(page.content, 6))}
    for asset in dict.fromkeys(ASSETS.findall(page.text)):
        body = (await c.get(asset.replace("&amp;", "&"), headers=headers)).content
        sizes[asset] = len(gzip.compress(body, 6))
    return {
        "html_raw": len(page.content),
        "html_gzip": sizes["html"],
        "assets_gzip": sum(v for k, v in sizes.items() if k != "html"),
        "total_gzip": sum(sizes.values()),
    }


async def measure(database_url: str) -> dict[str, Any]:
    settings = Settings.model_validate(
        {
            "database_url": database_url,
            "admin_token": ADMIN,
            "log_level": "WARNING",
            "dev_mailbox": True,
            "public_url": "http://bench",
            "jwt_private_key": generate_private_key_pem(),
            "data_dir": ROOT / ".calisera" / "bench-pages",
        }
    )
    app = build_app(settings)
    owner = "owner@bench.example"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            made = await _provider(c, owner)
            slug, simple = made["provider"]["slug"], made["simple"]
            day = made["today"] + timedelta(days=1)
            free = _ok(
                await c.get(
                    "/api/v1/availability",
                    params={
                        "service_id": simple["id"],
                        "start": day.isoformat(),
                        "end": day.isoformat(),
                        "timezone": ZONE,
                    },
                )
            )["slots"]
            booked = _ok(
                await c.post(
                    "/api/v1/bookings",
                    json={
                        "service_id": simple["id"],
                        "start": free[0]["start"],
                        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
                    },
                )
            )
            manage = f"/p/{slug}/manage/{booked['id']}"
            manage_cookie = {"Cookie": f"calisera_manage={booked['manage_token']}"}
            console = await _console_cookie(c, owner)
            start = free[3]["start"].replace("+", "%2B")
            screens: list[tuple[str, str, dict[str, str]]] = [
                ("discover", "/", {}),
                ("explore search", "/explore?q=studio", {}),
                ("booking page", f"/p/{slug}", {}),
                ("month calendar", f"/p/{slug}/s/{simple['id']}?tz={ZONE}", {}),
                ("details form", f"/p/{slug}/s/{simple['id']}/book?start={start}", {}),
                ("manage booking", manage, manage_cookie),
                ("embedded page", f"/p/{slug}/embed", {}),
                ("console sign-in", "/console/sign-in", {}),
                ("console agenda", "/console/agenda?view=upcoming", console),
                ("console booking", f"/console/bookings/{booked['id']}", console),
                ("console book for client", "/console/bookings/new", console),
                ("console services", "/console/services", console),
                ("console page builder", "/console/page", console),
                ("console clients", "/console/clients", console),
                ("console hours", "/console/hours", console),
                ("console share", "/console/share", console),
                ("console insights", "/console/insights", console),
                ("console notifications", "/console/notifications", console),
                ("console account", "/console/account", console),
            ]
            await _timed(c, "/healthz", {})  # warm-up
            reference = _summary(await _timed(c, "/healthz", {}))
            results: dict[str, Any] = {}
            for name, path, headers in screens:
                await c.get(path, headers=headers)  # warm caches and templates
                timing = _summary(await _timed(c, path, headers))
                weight = await _weight(c, path, headers)
                results[name] = {
                    "path": path.split("?")[0],
                    **timing,
                    "ratio_to_healthz": round(timing["p50_ms"] / reference["p50_ms"], 1),
                    **weight,
                    "within_budget": weight["total_gzip"] <= BUDGET_BYTES,
                }
    return {
        "rounds": ROUNDS,
        "budget_bytes": BUDGET_BYTES,
        "reference_healthz": reference,
        "screens": results,
    }


def _markdown(result: dict[str, Any]) -> str:
    ref = result["reference_healthz"]
    lines = [
        "# Web screens: render time and first-load weight",
        "",
        f"{result['rounds']} requests per screen, in-process through the ASGI app with every"
        " service (`python -m bench pages`). Weight: HTML plus linked CSS and JS, each gzip"
        f" level 6; budget {result['budget_bytes'] // 1024} KB.",
        f"Reference: `/healthz` p50 {ref['p50_ms']} ms, p95 {ref['p95_ms']} ms.",
        "",
        "| screen | p50 ms | p95 ms | p50 / healthz | HTML raw | HTML gz | CSS+JS gz "
        "| total gz | within budget |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in result["screens"].items():
        lines.append(
            f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['ratio_to_healthz']} "
            f"| {r['html_raw']:,} | {r['html_gzip']:,} | {r['assets_gzip']:,} "
            f"| {r['total_gzip']:,} | {'yes' if r['within_budget'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    server = None
    url = os.environ.get("DATABASE_URL")
    if url is None:
        from calisera.core.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(ROOT / ".calisera" / "bench-postgres")
        url = server.start()
    server_url = libpq_url(url)
    name = f"calisera_bench_pages_{os.getpid()}"
    db_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        upgrade_all(db_url)
        result = asyncio.run(measure(db_url))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if server is not None:
            server.stop()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    RESULTS.with_suffix(".md").write_text(_markdown(result))
    print(_markdown(result))


if __name__ == "__main__":
    main()
