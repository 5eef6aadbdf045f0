"""The providers schema migrates from an empty database, idempotently, in its own schema."""

from __future__ import annotations

import psycopg
import pytest

from calisera.core.database import libpq_url
from calisera.core.migrations import upgrade_all


def test_migrates_from_empty_twice(empty_database_url):
    first = upgrade_all(empty_database_url, ["providers"])
    second = upgrade_all(empty_database_url, ["providers"])
    assert [(s.service, s.current) for s in first] == [(s.service, s.current) for s in second]
    state = next(s for s in second if s.service == "providers")
    assert state.current == state.head == "providers_0008_images"
    with psycopg.connect(libpq_url(empty_database_url)) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'providers'"
            )
        }
        assert {
            "alembic_version",
            "providers",
            "services",
            "weekly_rules",
            "date_overrides",
            "time_off",
            "outbox",
        } <= tables
        public = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert public == (0,)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO providers.providers (id, slug, name, timezone, owner_email) "
        "VALUES (gen_random_uuid(), 'Bad_Slug', 'x', 'UTC', 'a@example.com')",
        "INSERT INTO providers.services (id, provider_id, name, kind, duration_minutes, capacity) "
        "SELECT gen_random_uuid(), id, 'x', 'simple', 30, 2 FROM providers.providers",
        "INSERT INTO providers.services (id, provider_id, name, kind, duration_minutes) "
        "SELECT gen_random_uuid(), id, 'x', 'simple', 0 FROM providers.providers",
        "INSERT INTO providers.services (id, provider_id, name, kind, duration_minutes) "
        "SELECT gen_random_uuid(), id, 'x', 'webinar', 30 FROM providers.providers",
        "INSERT INTO providers.services (id, provider_id, name, kind, duration_minutes, capacity) "
        "SELECT gen_random_uuid(), id, 'x', 'event', 30, 5 FROM providers.providers",
        'INSERT INTO providers.weekly_rules (provider_id, weekday, start, "end") '
        "SELECT id, 7, '09:00', '10:00' FROM providers.providers",
        'INSERT INTO providers.weekly_rules (provider_id, weekday, start, "end") '
        "SELECT id, 1, '10:00', '09:00' FROM providers.providers",
        "INSERT INTO providers.providers (id, slug, name, timezone, owner_email) "
        "VALUES (gen_random_uuid(), 'good-slug', 'y', 'UTC', 'b@example.com')",
    ],
)
def test_database_refuses_broken_rows(database_url, statement):
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute(
            "INSERT INTO providers.providers (id, slug, name, timezone, owner_email) "
            "VALUES (gen_random_uuid(), 'good-slug', 'x', 'UTC', 'a@example.com')"
        )
        with pytest.raises(psycopg.errors.IntegrityError):
            conn.execute(statement)


def test_models_match_the_migration(empty_database_url):
    """The SQLAlchemy models and the hand-written revision describe the same schema
    (the outbox table comes from calisera.core and is left out)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from calisera.core.migrations import sync_engine
    from calisera.providers.models import metadata

    upgrade_all(empty_database_url, ["providers"])
    engine = sync_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "version_table_schema": "providers",
                    "include_name": lambda name, type_, _: type_ != "schema" or name == "providers",
                    "include_object": lambda obj, name, type_, *_: (
                        not (
                            type_ in ("table", "index")
                            and "outbox" in str(getattr(obj, "table", obj))
                        )
                        and name != "outbox"
                    ),
                    "compare_type": True,
                },
            )
            diffs = compare_metadata(ctx, metadata)
    finally:
        engine.dispose()
    assert diffs == []
