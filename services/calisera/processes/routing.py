"""Which consumer takes which events: each consuming service's ``consumers.consumer()``.

Found with importlib, by the queue names of :data:`calisera.core.queue.CONSUMER_QUEUES`,
so a service whose consumers module does not exist yet is simply not routed to. The
relay routes with it, a worker runs one of them, ``up`` starts a worker for each.
"""

from __future__ import annotations

import importlib

from calisera.core.consumers import Consumer
from calisera.core.queue import CONSUMER_QUEUES


def load_consumers() -> dict[str, Consumer]:
    """Every consumer queue whose service has a ``consumers`` module, by queue name."""
    found: dict[str, Consumer] = {}
    for name in CONSUMER_QUEUES:
        module_name = f"calisera.{name}.consumers"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        consumer: Consumer = module.consumer()
        found[consumer.name] = consumer
    return found
