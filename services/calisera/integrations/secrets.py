"""Secrets this service must use again, sealed at rest (:mod:`calisera.core.sealing`).

The key is derived from the platform admin token every process of a deployment shares,
so a database dump alone reveals no webhook secret and no CalDAV password. Without an
admin token nothing can be sealed and the routes that store secrets answer 503.
"""

from __future__ import annotations

from calisera.core.sealing import seal, unseal
from calisera.core.settings import Settings
from calisera.integrations.errors import SecretsUnavailable

WEBHOOK_SECRET = "integrations/webhook-secret"  # noqa: S105 - purpose labels
CALDAV_PASSWORD = "integrations/caldav-password"  # noqa: S105


def _key(settings: Settings) -> str:
    key = settings.admin_token_value
    if not key:
        raise SecretsUnavailable(
            "Set CALISERA_ADMIN_TOKEN: integration secrets are sealed with it."
        )
    return key


def seal_secret(settings: Settings, purpose: str, value: str) -> str:
    return seal(_key(settings), purpose, value)


def unseal_secret(settings: Settings, purpose: str, sealed: str) -> str:
    value = unseal(_key(settings), purpose, sealed)
    if value is None:
        raise SecretsUnavailable("A stored secret cannot be unsealed (admin token changed?).")
    return value
