"""The public directory: providers who opted in (``listed``), found by what customers type.

Ranking is PostgreSQL's: full-text search over the generated ``search_document`` (name,
then categories and place, then bio) plus trigram word similarity (``pg_trgm``) over the
short ``search_text``, so ``barbr`` still finds a barber. A row matches when either
matches (each has a GIN index; they cover every row, as PostgreSQL 15 did not use partial
GIN indexes for these operators). Without ``q`` the list is by name.

Pages are keyset cursors (:mod:`calisera.core.pagination`): ``(score, id)`` descending
for a query, ``(lower(name), id)`` otherwise. The score is rounded to a fixed number of
digits in SQL so the cursor's value compares exactly with the next page's rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.pagination import after_cursor, page_of
from calisera.providers.models import Provider

WORD_SIMILARITY_THRESHOLD = 0.5
"""``pg_trgm`` word similarity from which a query word counts as a (misspelt) match:
``barbr``/``barber`` is 0.67, ``massge``/``massage`` 0.57, unrelated words below 0.3."""

SCORE_DIGITS = 6


@dataclass(frozen=True)
class DirectoryQuery:
    """What a customer asked for; every part optional, all given parts must hold."""

    q: str | None = None
    category: str | None = None
    city: str | None = None
    lang: str | None = None

    @property
    def has_terms(self) -> bool:
        return bool(self.q)


def _listed() -> sa.ColumnElement[bool]:
    return sa.and_(Provider.listed, sa.not_(Provider.suspended))


def _filters(query: DirectoryQuery) -> list[sa.ColumnElement[bool]]:
    conditions = [_listed()]
    if query.category:
        conditions.append(Provider.categories.contains([query.category]))
    if query.lang:
        conditions.append(Provider.languages.contains([query.lang]))
    if query.city:
        place = query.city.lower()
        conditions.append(
            sa.or_(sa.func.lower(Provider.city) == place, sa.func.lower(Provider.area) == place)
        )
    return conditions


async def search_listed(
    session: AsyncSession, query: DirectoryQuery, *, limit: int, cursor: str | None
) -> tuple[list[Provider], str | None]:
    """One page of listed providers matching ``query``, best first."""
    conditions = _filters(query)
    if not query.q:
        order = (sa.func.lower(Provider.name), Provider.id)
        stmt = (
            sa.select(Provider)
            .where(*conditions, after_cursor(order, cursor, shape=tuple[str, uuid.UUID]))
            .order_by(*order)
        )
        rows = (await session.scalars(stmt.limit(limit + 1))).all()
        return page_of(rows, limit, lambda p: (p.name.lower(), p.id))

    # The session-local threshold lets the trigram index answer "<%" (word similarity).
    await session.execute(
        sa.select(
            sa.func.set_config(
                "pg_trgm.word_similarity_threshold", str(WORD_SIMILARITY_THRESHOLD), True
            )
        )
    )
    terms = sa.func.websearch_to_tsquery(sa.literal_column("'simple'::regconfig"), query.q)
    prefix = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), _prefix_query(query.q))
    document = Provider.search_document
    similar = Provider.search_text.op("%>")(query.q)
    score = sa.func.round(
        sa.cast(
            sa.func.ts_rank_cd(document, prefix, 1)
            + sa.func.word_similarity(query.q, Provider.search_text),
            sa.Numeric,
        ),
        SCORE_DIGITS,
    ).label("score")
    matched = sa.or_(document.op("@@")(terms), document.op("@@")(prefix), similar)
    ranked = (
        sa.select(Provider.id.label("id"), score).where(*conditions, matched).subquery("ranked")
    )
    ranking = (ranked.c.score, ranked.c.id)
    stmt = (
        sa.select(Provider, ranked.c.score)
        .join(ranked, ranked.c.id == Provider.id)
        .where(after_cursor(ranking, cursor, shape=tuple[float, uuid.UUID], descending=True))
        .order_by(ranked.c.score.desc(), ranked.c.id.desc())
        .limit(limit + 1)
    )
    result = cast(list[tuple[Provider, Decimal]], (await session.execute(stmt)).all())
    scores = {p.id: float(value) for p, value in result}
    found = [p for p, _ in result]
    return page_of(found, limit, lambda p: (scores[p.id], p.id))


def _prefix_query(q: str) -> str:
    """``hair ber`` → ``hair:* & ber:*``: each word as a prefix, so results come while
    typing; characters tsquery would read as operators are dropped ("" when none is left)."""
    words = ["".join(ch for ch in w if ch.isalnum()) for w in q.split()]
    return " & ".join(f"{w}:*" for w in words if w)
