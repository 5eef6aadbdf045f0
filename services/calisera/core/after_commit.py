"""Work that must happen only after a transaction commits, and never turn it into an error.

Cache invalidation, waking another process, in-process notification of a change: none
of it may run for a change that rolls back, and none of it may fail a write that has
already committed (a customer whose booking committed must get 201, not 500, when the
cache is down; the durable event path repairs what the hook could not do).

Code inside a transaction calls :func:`after_commit`; the jobs wait in the session's
``info`` and are run by :class:`CommitHookSession` right after the commit — before the
route returns, so the caller's next request already sees their effect. A rollback
drops them. Every sessionmaker built by :class:`calisera.core.database.Database` makes
such sessions, so routes, consumers and commands get the same behaviour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction
from sqlalchemy.orm import Session

Job = Callable[[], Awaitable[None]]

_PENDING = "calisera.after_commit.pending"
_COMMITTED = "calisera.after_commit.committed"

AFTER_COMMIT_FAILURES = Counter(
    "calisera_after_commit_failures_total",
    "After-commit jobs that failed (logged; the committed write still succeeded).",
    ["job"],
)

log = structlog.get_logger("calisera.after_commit")


def after_commit(session: AsyncSession | Session, job: Job, *, name: str) -> None:
    """Run ``job`` once the current transaction of ``session`` commits.

    ``name`` is a bounded label (``"listing.invalidate"``, not an id): it names the job
    in logs and in ``calisera_after_commit_failures_total``."""
    info = session.info
    info.setdefault(_PENDING, []).append((name, job))


@event.listens_for(Session, "after_commit")
def _move_to_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_COMMITTED, []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


async def run_committed(session: AsyncSession) -> None:
    """Run the jobs of transactions that committed; a failure is logged and counted."""
    jobs: list[tuple[str, Job]] = session.info.pop(_COMMITTED, None) or []
    for name, job in jobs:
        try:
            await job()
        except Exception:  # the write committed: report, never raise (module docstring)
            AFTER_COMMIT_FAILURES.labels(name).inc()
            log.exception("after_commit_failed", job=name)


class _HookedTransaction(AsyncSessionTransaction):
    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await super().__aexit__(type_, value, traceback)
        await run_committed(self.session)


class CommitHookSession(AsyncSession):
    """An ``AsyncSession`` that runs :func:`after_commit` jobs once its commit returns."""

    def begin(self) -> AsyncSessionTransaction:
        return _HookedTransaction(self)

    async def commit(self) -> None:
        await super().commit()
        await run_committed(self)
