"""What the public directory costs with 10,000 providers: ``GET /api/v1/providers/search``
(full-text search + trigram typo tolerance, filters, a second page) against a plain
indexed lookup (``GET /api/v1/providers/by-slug/{slug}``) measured in the same run,
in-process through the ASGI app on a real PostgreSQL.

The providers are seeded with SQL (names, categories, cities and languages drawn from
small lists so queries match hundreds of rows, 90 % listed). The result records p50/p95
per query and each one's ratio to the lookup; it asserts nothing about time.

Run: ``.venv/bin/python -m bench discover`` (``DATABASE_URL`` or an embedded server under
``.calisera/bench-postgres``). Writes ``bench/results/discover.json`` and ``.md``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from calisera.assembly import build_app
from calisera.core.database import libpq_url
from calisera.core.migrations import upgrade_all
from calisera.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "discover.json"
ADMIN = "bench-admin-token-0123456789"
PROVIDERS = 10_000
ROUNDS = 100

FIRST = [
    "Anna", "Ben", "Cleo", "David", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas",
    "Kira", "Luca", "Mila", "Noah", "Olga", "Paul", "Rosa", "Sami", "Tara", "Yusuf",
]  # fmt: skip
KINDS = [
    ("Hair Studio", "hair"), ("Barber Shop", "barber"), ("Yoga Loft", "yoga"),
    ("Massage Room", "massage"), ("Nail Bar", "nails"), ("Career Coaching", "coaching"),
    ("Maths Tutoring", "tutoring"), ("Physio Practice", "health"), ("Dance School", "dance"),
    ("Photo Studio", "photography"), ("Dog Grooming", "pets"), ("Piano Lessons", "music-lessons"),
    ("Fitness Club", "fitness"), ("Tax Advice", "finance"), ("Therapy Space", "therapy"),
]  # fmt: skip
CITIES = ["Berlin", "Hamburg", "Munich", "Cologne", "Vienna", "Zurich", "Amsterdam", "Lisbon",
          "Madrid", "Paris", "Prague", "Warsaw"]  # fmt: skip
LANGUAGES = ["de", "en", "fr", "es", "pt", "pl", "tr", "it"]

SEED = """
INSERT INTO providers.providers
    (id, slug, name, timezone, owner_email, bio, listed, categories, city, area, languages)
SELECT gen_random_uuid(),
       'bench-' || i,
       (%(first)s::text[])[1 + i %% 20] || ' ' || (%(kinds)s::text[])[1 + (i / 20) %% 15]
           || ' ' || i,
       'Europe/Berlin',
       'owner' || i || '@example.com',
       'Appointments in ' || (%(cities)s::text[])[1 + i %% 12]
           || '. Friendly, punctual and experienced since ' || (1990 + i %% 30) || '.',
       i %% 10 <> 0,
       ARRAY[(%(categories)s::text[])[1 + (i / 20) %% 15]],
       (%(cities)s::text[])[1 + i %% 12],
       'District ' || (i %% 7),
       ARRAY[(%(languages)s::text[])[1 + i %% 8], 'en']
FROM generate_series(1, %(count)s) AS i
"""

QUERIES: dict[str, dict[str, str]] = {
    "name_word": {"q": "barber"},
    "typo": {"q": "barbr shop"},
    "two_words": {"q": "yoga berlin"},
    "prefix_while_typing": {"q": "mass"},
    "person_name_typo": {"q": "Jonsa"},
    "category_filter": {"category": "coaching"},
    "category_and_city": {"category": "hair", "city": "Vienna", "lang": "de"},
    "query_and_city": {"q": "tutoring", "city": "Lisbon"},
    "browse_all_by_name": {},
}


async def _timed(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        r = await client.get(path, params=params)
        samples.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95)], 3),
    }


async def measure(database_url: str) -> dict[str, Any]:
    settings = Settings.model_validate(
        {"database_url": database_url, "admin_token": ADMIN, "log_level": "WARNING"}
    )
    app = build_app(settings, ["providers"])
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            lookup = "/api/v1/providers/by-slug/bench-4242"
            await _timed(c, lookup, {})  # warm-up
            reference = _summary(await _timed(c, lookup, {}))
            search = "/api/v1/providers/search"
            for name, params in QUERIES.items():
                first = (await c.get(search, params=params)).json()
                summary = _summary(await _timed(c, search, params))
                results[name] = {
                    "params": params,
                    "first_page": len(first["items"]),
                    "top": first["items"][0]["name"] if first["items"] else None,
                    **summary,
                    "ratio_to_lookup": round(summary["p50_ms"] / reference["p50_ms"], 2),
                }
                if first["next_cursor"]:
                    page2 = {**params, "cursor": first["next_cursor"]}
                    results[name]["second_page"] = _summary(await _timed(c, search, page2))
    return {"providers": PROVIDERS, "rounds": ROUNDS, "reference_by_slug": reference,
            "search": results}  # fmt: skip


def _markdown(result: dict[str, Any]) -> str:
    ref = result["reference_by_slug"]
    lines = [
        "# Directory search with 10,000 providers",
        "",
        f"{result['providers']} providers (90 % listed), {result['rounds']} requests per row,"
        " in-process through the ASGI app (`python -m bench discover`).",
        f"Reference: indexed lookup by slug p50 {ref['p50_ms']} ms, p95 {ref['p95_ms']} ms.",
        "",
        "| query | params | first page | top hit | p50 ms | p95 ms | p50 / lookup |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in result["search"].items():
        lines.append(
            f"| {name} | `{r['params']}` | {r['first_page']} | {r['top']} | {r['p50_ms']} "
            f"| {r['p95_ms']} | {r['ratio_to_lookup']} |"
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
    name = f"calisera_bench_{os.getpid()}"
    db_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        upgrade_all(db_url, ["providers"])
        with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
            conn.execute(
                SEED,
                {
                    "first": FIRST,
                    "kinds": [k for k, _ in KINDS],
                    "cities": CITIES,
                    "categories": [c for _, c in KINDS],
                    "languages": LANGUAGES,
                    "count": PROVIDERS,
                },
            )
            conn.execute("ANALYZE providers.providers")
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
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
