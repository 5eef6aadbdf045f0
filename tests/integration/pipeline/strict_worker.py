"""A real worker process whose consumer knows only version 1 of ``booking.*`` events.

``python -m tests.integration.pipeline.strict_worker <queue>`` runs the worker of
``calisera worker <queue>`` (same task, same bookkeeping in ``relay.deliveries``) with
this consumer instead of the service's: it handles version 1 (records nothing) and
refuses any other version with :class:`UnsupportedEventVersion`, as a consumer parsing
events against its contract does.
"""

from __future__ import annotations

import sys

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.consumers import Consumer
from calisera.core.events import EventEnvelope, UnsupportedEventVersion
from calisera.core.logging import configure_logging
from calisera.core.settings import Settings
from calisera.processes.worker import run_worker


async def handle_version_one(session: AsyncSession, event: EventEnvelope) -> None:
    if event.version != 1:
        raise UnsupportedEventVersion(
            f"{event.type} version {event.version}: this consumer knows version 1"
        )


def main() -> None:
    queue = sys.argv[1]
    settings = Settings()
    configure_logging(settings.log_level, json=False)
    consumer = Consumer(
        name=queue, event_types=("booking.*",), handle=handle_version_one, processed=None
    )
    run_worker(settings, queue, concurrency=1, consumers={queue: consumer})


if __name__ == "__main__":
    main()
