"""``calisera analytics ...``: maintenance commands of the analytics service.

``rebuild`` recomputes from what analytics stored itself: every booking event it was
delivered is kept as an *observation* (its facts minus personal data), so booking facts
are re-folded from them and every aggregate is re-summed from the facts — the same pure
functions the consumer uses, in one transaction. A full replay from the sources (empty
the analytics tables, then deliver every event of the bookings and providers outboxes
again) needs an internal endpoint in those services to page through their outbox; it is
not built yet (``deliver`` makes such a replay safe: duplicates have no effect).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer

from calisera.core.settings import Settings

app = typer.Typer(name="analytics", help="Analytics maintenance.", no_args_is_help=True)


async def run_rebuild(database_url: str, provider_id: uuid.UUID | None) -> str:
    from calisera.analytics.rebuild import rebuild_aggregates
    from calisera.core.database import Database

    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with db.sessionmaker() as session, session.begin():
            result = await rebuild_aggregates(session, provider_id)
    finally:
        await db.dispose()
    return (
        f"rebuilt {result.bookings} bookings into {result.stat_rows} daily rows "
        f"and {result.bucket_rows} histogram rows"
    )


@app.command()
def rebuild(
    provider: Annotated[
        uuid.UUID | None, typer.Option("--provider", help="Only this provider's aggregates.")
    ] = None,
) -> None:
    """Recompute booking facts and every aggregate from the stored event observations,
    in one transaction (consumers wait meanwhile)."""
    settings = Settings()
    if not settings.database_url:
        typer.secho("calisera: DATABASE_URL is not set.", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    typer.echo(asyncio.run(run_rebuild(settings.database_url, provider)))
