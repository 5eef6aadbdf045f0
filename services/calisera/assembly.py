"""Putting services together: which services exist and the app that serves them.

The only module (with the CLI) allowed to import every service's ``api``: services
themselves never import each other's internals (import-linter checks it).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from fastapi import FastAPI

from calisera.core.app import create_app
from calisera.core.database import Database
from calisera.core.platform import ServiceSpec
from calisera.core.settings import SERVICE_NAMES, Settings
from calisera.listing.client import remote_invalidation
from calisera.providers.client import provider_owners


def service_spec(name: str) -> ServiceSpec:
    """The :class:`ServiceSpec` a service's ``api`` module exports as ``spec``."""
    if name not in SERVICE_NAMES:
        raise KeyError(f"unknown service {name!r}; one of: {', '.join(SERVICE_NAMES)}")
    module = importlib.import_module(f"calisera.{name}.api")
    spec: ServiceSpec = module.spec
    return spec


def available_services() -> list[str]:
    """Services whose package provides an ``api`` module, in contract order."""
    found = []
    for name in SERVICE_NAMES:
        try:
            importlib.import_module(f"calisera.{name}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"calisera.{name}.api":
                raise
            continue
        found.append(name)
    return found


def build_app(
    settings: Settings,
    services: Sequence[str] | None = None,
    *,
    database: Database | None = None,
) -> FastAPI:
    """One app serving ``services`` (default: all of them, as ``calisera up`` does)."""
    names = list(services) if services else available_services()
    return create_app(
        [service_spec(n) for n in names],
        settings,
        database=database,
        peers=[provider_owners, remote_invalidation],
    )
