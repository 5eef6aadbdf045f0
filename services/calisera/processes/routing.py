"""Which consumer takes which events: each consuming service's ``consumers.consumer()``.

Found with importlib, by the queue names of :data:`calisera.core.queue.CONSUMER_QUEUES`,
so a service whose consumers module does not exist yet is simply not routed to. The
relay routes with it, a worker runs one of them, ``up`` starts a worker for each.

Importing the consumers imports their services (~40 MB of a process's RSS). A relay needs
only their event-type patterns: ``up``, which has the services loaded anyway, passes them
to its relay (:func:`route_arguments`, ``calisera relay --route``), and :func:`matchers`
turns them back into ``wants`` functions.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType

from calisera.core.consumers import Consumer, matches
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


Routes = Mapping[str, Sequence[str]]
"""Consumer name -> its event-type patterns (fnmatch; none: it takes nothing)."""


def routes_of(consumers: Mapping[str, Consumer]) -> dict[str, tuple[str, ...]]:
    return {name: tuple(c.event_types) for name, c in consumers.items()}


def route_arguments(routes: Routes) -> list[str]:
    """``--route name=pattern,pattern`` for each consumer (``name=`` when it takes none)."""
    return [
        arg
        for name, patterns in routes.items()
        for arg in ("--route", f"{name}={','.join(patterns)}")
    ]


def parse_routes(values: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The ``--route`` values back into routes; ValueError names a malformed one."""
    routes: dict[str, tuple[str, ...]] = {}
    for value in values:
        name, sep, patterns = value.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--route {value!r}: expected consumer=pattern[,pattern...]")
        routes[name.strip()] = tuple(p.strip() for p in patterns.split(",") if p.strip())
    return routes


def matchers(routes: Routes) -> dict[str, Callable[[str], bool]]:
    """Each consumer's ``wants(event_type)``, decided as :meth:`Consumer.wants` does."""
    return {name: functools.partial(matches, tuple(patterns)) for name, patterns in routes.items()}
