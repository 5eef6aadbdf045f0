"""Which consumer takes which events: each consuming service's ``consumers.consumer()``.

Found with importlib, by the queue names of :data:`calisera.core.queue.CONSUMER_QUEUES`,
so a service whose consumers module does not exist yet is simply not routed to. The
relay routes with it, a worker runs one of them, ``up`` starts a worker for each.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from calisera.core.consumers import Consumer
from calisera.core.queue import CONSUMER_QUEUES
from calisera.core.settings import Settings


def _consumer_modules() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for name in CONSUMER_QUEUES:
        module_name = f"calisera.{name}.consumers"
        try:
            found[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
    return found


def consumer_queues() -> list[str]:
    """Names of the consumer queues whose service has a ``consumers`` module."""
    return list(_consumer_modules())


def load_consumers(settings: Settings) -> dict[str, Consumer]:
    """Every consumer queue whose service has a ``consumers`` module, by queue name;
    each is built with the process's ``settings`` (consumers never read the environment)."""
    found: dict[str, Consumer] = {}
    for module in _consumer_modules().values():
        consumer: Consumer = module.consumer(settings)
        found[consumer.name] = consumer
    return found
