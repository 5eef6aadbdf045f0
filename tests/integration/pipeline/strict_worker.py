"""A real worker process whose consumer parses ``booking.created`` with the bookings
contract (:data:`calisera.bookings.events.BOOKING_CREATED`, version 1).

``python -m tests.integration.pipeline.strict_worker <queue>`` runs the worker of
``calisera worker <queue>`` (same task, same bookkeeping in ``relay.deliveries``) with
this consumer instead of the service's: it handles what parses (recording nothing) and,
like every consumer, lets :meth:`EventType.parse`'s ``PermanentEventError`` (another
major version, a broken payload) reach the worker.
"""

from __future__ import annotations

import sys

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.events import BOOKING_CREATED
from calisera.core.consumers import Consumer
from calisera.core.events import EventEnvelope
from calisera.core.logging import configure_logging
from calisera.core.settings import Settings
from calisera.processes.worker import run_worker


async def handle_booking_created(session: AsyncSession, event: EventEnvelope) -> None:
    BOOKING_CREATED.parse(event)


def main() -> None:
    queue = sys.argv[1]
    settings = Settings()
    configure_logging(settings.log_level, json=False)
    consumer = Consumer(
        name=queue,
        event_types=(BOOKING_CREATED.name,),
        handle=handle_booking_created,
        processed=None,
    )
    run_worker(settings, queue, concurrency=1, consumers={queue: consumer})


if __name__ == "__main__":
    main()
