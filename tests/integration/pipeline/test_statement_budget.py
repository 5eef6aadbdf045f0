"""The worker's database work per booking, counted (not timed): the statements and
commits every consumer spends on one ``booking.created`` of a provider without webhooks
or calendars, through the real worker code (:func:`calisera.processes.worker.consume`),
with a real SMTP server taking the two e-mails. A rise is a regression of issue 16's
per-event cost (docs/performance.md, lever 3); a fall is welcome: lower the budget."""

from __future__ import annotations

import collections
import uuid
from typing import Any

from sqlalchemy import event as sa_event

from calisera.core.consumers import WorkerContext
from calisera.core.database import Database
from calisera.processes.routing import load_consumers
from calisera.processes.worker import consume
from tests.integration.pipeline.conftest import booking_event, provider_created

BUDGET = {  # consumer: (statements, commits) per booking.created
    "notifications": (10, 5),  # plan; claim; per e-mail a hand-over; one sent mark
    "analytics": (7, 1),
    "integrations": (5, 1),
}


async def test_a_booking_costs_the_worker_its_budget_of_statements(settings: Any, smtp: Any):
    mailbox, smtp_url = smtp
    configured = settings.with_changes(smtp_url=smtp_url, admin_token="t" * 40)
    db = Database(configured.database_url, pool_size=4, pre_ping=False)
    context = WorkerContext(settings=configured, sessionmaker=db.sessionmaker)
    consumers = {n: c for n, c in load_consumers(configured).items() if n in BUDGET}
    provider = uuid.uuid4()
    created = provider_created(
        provider, slug=f"studio-{provider.hex[:8]}", owner_email="owner@example.test"
    )
    statements: collections.Counter[str] = collections.Counter()
    commits: collections.Counter[str] = collections.Counter()
    current = [""]
    engine = db.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", lambda *_: statements.update(current))
    sa_event.listen(engine, "commit", lambda *_: commits.update(current))
    try:
        for name, consumer in consumers.items():
            if consumer.wants(created.type):
                current[0] = name
                await consume(context, consumer, created)
        statements.clear()
        commits.clear()
        bookings = 3
        for i in range(bookings):
            event = booking_event(provider_id=provider, email=f"guest{i}@example.test")
            for name, consumer in consumers.items():
                current[0] = name
                assert await consume(context, consumer, event) == "handled"
    finally:
        await db.dispose()
    assert len(mailbox.messages) == 2 * bookings  # the customer's and the owner's
    spent = {n: (statements[n] / bookings, commits[n] / bookings) for n in BUDGET}
    assert all(spent[n][0] <= BUDGET[n][0] and spent[n][1] <= BUDGET[n][1] for n in BUDGET), (
        f"spent {spent}, budget {BUDGET}"
    )
