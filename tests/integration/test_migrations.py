"""Each service migrates its own schema, from empty, idempotently; `serve` refuses when behind."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from calisera.core.migrations import migrated_services, schema_states, upgrade_all
from tests.conftest import ROOT


def _run(args: list[str], database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CALISERA_LOG_JSON": "false"}
    return subprocess.run(
        [sys.executable, "-m", "calisera.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_schema_migrates_from_empty_with_its_own_version_table(empty_database_url):
    services = migrated_services()
    assert services, "no service has migrations"
    states = upgrade_all(empty_database_url)
    assert all(not s.behind for s in states)
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute(
            "SELECT table_schema FROM information_schema.tables"
            " WHERE table_name = 'alembic_version'"
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(services)


def test_migrating_twice_changes_nothing(empty_database_url):
    first = upgrade_all(empty_database_url)
    second = upgrade_all(empty_database_url)
    assert first == second


def test_migrate_check_reports_behind_then_ok(empty_database_url):
    behind = _run(["migrate", "--check"], empty_database_url)
    assert behind.returncode == 1
    assert "behind" in behind.stdout
    done = _run(["migrate"], empty_database_url)
    assert done.returncode == 0, done.stderr
    assert _run(["migrate", "--check"], empty_database_url).returncode == 0
    assert all(not s.behind for s in schema_states(empty_database_url))


def test_serve_refuses_a_schema_that_is_behind(empty_database_url):
    service = migrated_services()[0]
    refused = _run(["serve", service, "--port", "1"], empty_database_url)
    assert refused.returncode != 0
    assert "calisera migrate" in refused.stderr
