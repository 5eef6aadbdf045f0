"""``calisera-operator``: run the ProviderTenant operator (``kopf run`` with our settings)."""

from __future__ import annotations

import logging
import secrets

import kopf

import calisera_operator  # noqa: F401 - registers the handlers
from calisera_operator.config import OperatorConfig


def main() -> None:
    config = OperatorConfig()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Kopf peering pauses every operator that sees another of higher or equal priority:
    # a random priority per replica makes exactly one of them active.
    kopf.run(
        namespaces=[config.namespace],
        peering_name=config.peering or None,
        standalone=not config.peering,
        priority=secrets.randbelow(2**30) if config.peering else 0,
        liveness_endpoint=(
            f"http://0.0.0.0:{config.health_port}/healthz" if config.health_port else None
        ),
    )


if __name__ == "__main__":
    main()
