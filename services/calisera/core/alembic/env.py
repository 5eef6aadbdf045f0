"""Shared Alembic environment: runs one service's history inside that service's schema."""

from __future__ import annotations

from alembic import context

from calisera.core.migrations import target_metadata

config = context.config
schema: str = config.attributes["schema"]
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through calisera.core.migrations (it passes a connection)")

context.configure(
    connection=connection,
    target_metadata=target_metadata(schema),
    version_table_schema=schema,
    include_schemas=True,
    include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
