"""Schema-per-service migrations: each service has its own Alembic history.

A service's revisions live in ``calisera/<service>/migrations/``; its version table
lives inside its own schema (``<schema>.alembic_version``), so services migrate
independently. The environment script is shared (``core/alembic/env.py``). Runs are
serialised with an advisory lock, so several replicas may call ``migrate`` at once.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects.postgresql import JSONB, UUID

from calisera.core.database import sqlalchemy_url
from calisera.core.settings import SERVICE_NAMES

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
ENV_DIR = Path(__file__).resolve().parent / "alembic"
_LOCK_KEY = 0x6361_6C69  # "cali": one advisory lock for every migration run


INFRASTRUCTURE_SCHEMAS = {"relay": PACKAGE_ROOT / "core" / "relay_migrations"}
"""Schemas owned by platform processes rather than services (the outbox relay's
``relay.deliveries``), migrated like a service's, after the services."""


def versions_dir(service: str) -> Path:
    return INFRASTRUCTURE_SCHEMAS.get(service) or PACKAGE_ROOT / service / "migrations"


def migrated_services() -> list[str]:
    """Schemas with at least one revision, in a stable order: services, then infrastructure."""
    return [
        s
        for s in (*SERVICE_NAMES, *INFRASTRUCTURE_SCHEMAS)
        if versions_dir(s).is_dir() and any(versions_dir(s).glob("[0-9]*.py"))
    ]


def alembic_config(service: str, connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ENV_DIR))
    cfg.set_main_option("version_locations", str(versions_dir(service)))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["schema"] = service
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def sync_engine(url: str) -> sa.Engine:
    return sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)


@dataclass(frozen=True)
class SchemaState:
    service: str
    current: str | None
    head: str | None

    @property
    def behind(self) -> bool:
        return self.current != self.head


def schema_states(url: str) -> list[SchemaState]:
    engine = sync_engine(url)
    try:
        with engine.connect() as conn:
            states = []
            for service in migrated_services():
                head = ScriptDirectory.from_config(alembic_config(service)).get_current_head()
                ctx = MigrationContext.configure(conn, opts={"version_table_schema": service})
                states.append(SchemaState(service, ctx.get_current_revision(), head))
            return states
    finally:
        engine.dispose()


def upgrade_all(url: str, services: list[str] | None = None) -> list[SchemaState]:
    """Bring every (or the given) service schema to its head; idempotent."""
    engine = sync_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            conn.commit()  # the (session-level) lock stays; end the autobegun transaction
            try:
                for service in services or migrated_services():
                    with conn.begin():
                        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{service}"'))
                    command.upgrade(alembic_config(service, conn), "head")
                    conn.commit()
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()
    return schema_states(url)


def target_metadata(service: str) -> sa.MetaData | None:
    """The service's models' metadata (for autogenerate), when it has models."""
    try:
        module = importlib.import_module(f"calisera.{service}.models")
    except ModuleNotFoundError:
        return None
    metadata: sa.MetaData | None = getattr(module, "metadata", None)
    return metadata


def create_outbox_table(schema: str) -> None:
    """Migration helper: the outbox table of ``calisera.core.outbox`` in ``schema``."""
    from alembic import op

    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("aggregate_id", UUID(as_uuid=True), nullable=False),
        sa.Column("aggregate_version", sa.Integer, nullable=False),
        sa.Column("provider_id", UUID(as_uuid=True), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["seq"],
        schema=schema,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_aggregate", "outbox", ["aggregate_id", "aggregate_version"], schema=schema
    )


def create_processed_events_table(schema: str) -> None:
    """Migration helper: the ``processed_events`` table of :mod:`calisera.core.consumers`."""
    from alembic import op

    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column(
            "handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=schema,
    )
