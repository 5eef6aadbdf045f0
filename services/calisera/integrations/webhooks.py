"""Webhook endpoints of a provider: create (the secret is shown once), list, change,
delete. The secret is a Standard Webhooks ``whsec_`` key, kept only sealed."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.settings import Settings
from calisera.integrations.errors import TooManyWebhookEndpoints, WebhookEndpointNotFound
from calisera.integrations.models import webhook_endpoints
from calisera.integrations.schemas import (
    MAX_ENDPOINTS_PER_PROVIDER,
    WebhookEndpointIn,
    WebhookEndpointPatch,
)
from calisera.integrations.secrets import WEBHOOK_SECRET, seal_secret

PUBLIC_COLUMNS = [c for c in webhook_endpoints.c if c.name != "secret_sealed"]


def new_secret() -> str:
    """24 random bytes, ``whsec_`` + base64, as the Standard Webhooks libraries expect."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def create_endpoint(
    session: AsyncSession, settings: Settings, provider_id: uuid.UUID, body: WebhookEndpointIn
) -> tuple[Any, str]:
    """The new endpoint's row and its secret (the only time it exists in plain text)."""
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(provider_id))))
    count = await session.scalar(
        sa.select(sa.func.count()).where(webhook_endpoints.c.provider_id == provider_id)
    )
    if (count or 0) >= MAX_ENDPOINTS_PER_PROVIDER:
        raise TooManyWebhookEndpoints(
            f"A provider may have at most {MAX_ENDPOINTS_PER_PROVIDER} webhook endpoints."
        )
    secret = new_secret()
    row = (
        await session.execute(
            webhook_endpoints.insert()
            .values(
                id=uuid.uuid4(),
                provider_id=provider_id,
                url=body.url,
                description=body.description,
                event_types=sorted(set(body.event_types)),
                secret_sealed=seal_secret(settings, WEBHOOK_SECRET, secret),
            )
            .returning(*PUBLIC_COLUMNS)
        )
    ).one()
    return row, secret


def _lock_key(provider_id: uuid.UUID) -> int:
    return (provider_id.int >> 65) ^ 0x5748_4F4F_4B53  # one lock per provider's endpoints


async def list_endpoints(session: AsyncSession, provider_id: uuid.UUID) -> list[Any]:
    rows = await session.execute(
        sa.select(*PUBLIC_COLUMNS)
        .where(webhook_endpoints.c.provider_id == provider_id)
        .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
    )
    return list(rows.all())


async def get_endpoint(
    session: AsyncSession, provider_id: uuid.UUID, endpoint_id: uuid.UUID
) -> Any:
    row = (
        await session.execute(
            sa.select(*PUBLIC_COLUMNS).where(
                webhook_endpoints.c.id == endpoint_id,
                webhook_endpoints.c.provider_id == provider_id,
            )
        )
    ).first()
    if row is None:
        raise WebhookEndpointNotFound(f"No webhook endpoint {endpoint_id} for this provider.")
    return row


async def update_endpoint(
    session: AsyncSession,
    provider_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    body: WebhookEndpointPatch,
) -> Any:
    changes: dict[str, Any] = {}
    given = body.model_fields_set
    if "url" in given and body.url is not None:
        changes["url"] = body.url
    if "event_types" in given and body.event_types is not None:
        changes["event_types"] = sorted(set(body.event_types))
    if "description" in given:
        changes["description"] = body.description
    if "enabled" in given and body.enabled is not None:
        changes["enabled"] = body.enabled
        if body.enabled:  # a fresh start: the failure clock and reason are reset
            changes["failing_since"] = None
            changes["disabled_reason"] = None
        else:
            changes["disabled_reason"] = "disabled by the provider"
    if not changes:
        return await get_endpoint(session, provider_id, endpoint_id)
    row = (
        await session.execute(
            webhook_endpoints.update()
            .where(
                webhook_endpoints.c.id == endpoint_id,
                webhook_endpoints.c.provider_id == provider_id,
            )
            .values(**changes, updated_at=sa.func.now())
            .returning(*PUBLIC_COLUMNS)
        )
    ).first()
    if row is None:
        raise WebhookEndpointNotFound(f"No webhook endpoint {endpoint_id} for this provider.")
    return row


async def delete_endpoint(
    session: AsyncSession, provider_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    result = await session.execute(
        webhook_endpoints.delete()
        .where(
            webhook_endpoints.c.id == endpoint_id,
            webhook_endpoints.c.provider_id == provider_id,
        )
        .returning(webhook_endpoints.c.id)
    )
    if result.first() is None:
        raise WebhookEndpointNotFound(f"No webhook endpoint {endpoint_id} for this provider.")
