"""Routes of webhook endpoints and their delivery log, under
``/api/v1/integrations/providers/{provider_id}/webhooks``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from calisera.core.dependencies import SessionDep, SettingsDep
from calisera.core.openapi import problem_responses
from calisera.core.ownership import ExistingOwnedProviderDep
from calisera.core.pagination import DEFAULT_LIMIT, Cursor, Limit
from calisera.integrations import delivery_log, webhook_delivery, webhooks
from calisera.integrations.errors import (
    SecretsUnavailable,
    TooManyWebhookEndpoints,
    WebhookDeliveryNotFound,
    WebhookEndpointNotFound,
)
from calisera.integrations.schemas import (
    WebhookDeliveryOut,
    WebhookDeliveryPage,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPage,
    WebhookEndpointPatch,
)

router = APIRouter(
    prefix="/api/v1/integrations/providers/{provider_id}/webhooks", tags=["integrations"]
)
EndpointId = Annotated[uuid.UUID, Path(description="The webhook endpoint (UUID).")]
DeliveryId = Annotated[uuid.UUID, Path(description="The delivery (UUID).")]


def _out(row: Any) -> WebhookEndpointOut:
    return WebhookEndpointOut.model_validate(row, from_attributes=True)


@router.post(
    "",
    status_code=201,
    response_model=WebhookEndpointCreated,
    responses=problem_responses(TooManyWebhookEndpoints, SecretsUnavailable),
)
async def create_endpoint(
    provider: ExistingOwnedProviderDep,
    body: WebhookEndpointIn,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookEndpointCreated:
    """Register an endpoint; the answer holds its signing secret, which is never shown
    again (deliveries are signed per Standard Webhooks with it)."""
    async with session.begin():
        row, secret = await webhooks.create_endpoint(session, settings, provider.id, body)
    return WebhookEndpointCreated(**_out(row).model_dump(), secret=secret)


@router.get("", response_model=WebhookEndpointPage)
async def list_endpoints(
    provider: ExistingOwnedProviderDep, session: SessionDep
) -> WebhookEndpointPage:
    """Every endpoint of the provider (at most 20), oldest first; secrets are not shown."""
    async with session.begin():
        rows = await webhooks.list_endpoints(session, provider.id)
    return WebhookEndpointPage(items=[_out(r) for r in rows])


@router.get(
    "/{endpoint_id}",
    response_model=WebhookEndpointOut,
    responses=problem_responses(WebhookEndpointNotFound),
)
async def get_endpoint(
    provider: ExistingOwnedProviderDep, endpoint_id: EndpointId, session: SessionDep
) -> WebhookEndpointOut:
    async with session.begin():
        return _out(await webhooks.get_endpoint(session, provider.id, endpoint_id))


@router.patch(
    "/{endpoint_id}",
    response_model=WebhookEndpointOut,
    responses=problem_responses(WebhookEndpointNotFound),
)
async def update_endpoint(
    provider: ExistingOwnedProviderDep,
    endpoint_id: EndpointId,
    body: WebhookEndpointPatch,
    session: SessionDep,
) -> WebhookEndpointOut:
    """Change the URL, event types or description; ``enabled: true`` switches a disabled
    endpoint back on (new deliveries only; redeliver old ones from the log)."""
    async with session.begin():
        return _out(await webhooks.update_endpoint(session, provider.id, endpoint_id, body))


@router.delete(
    "/{endpoint_id}", status_code=204, responses=problem_responses(WebhookEndpointNotFound)
)
async def delete_endpoint(
    provider: ExistingOwnedProviderDep, endpoint_id: EndpointId, session: SessionDep
) -> Response:
    """Remove the endpoint with its delivery log."""
    async with session.begin():
        await webhooks.delete_endpoint(session, provider.id, endpoint_id)
    return Response(status_code=204)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=WebhookDeliveryPage,
    responses=problem_responses(WebhookEndpointNotFound),
)
async def list_deliveries(
    provider: ExistingOwnedProviderDep,
    endpoint_id: EndpointId,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> WebhookDeliveryPage:
    """The delivery log, newest first: status, attempts, and per attempt the HTTP
    status, latency and the first 500 characters of the answer."""
    async with session.begin():
        await webhooks.get_endpoint(session, provider.id, endpoint_id)
        items, next_cursor = await delivery_log.delivery_page(
            session, endpoint_id, limit=limit, cursor=cursor
        )
    return WebhookDeliveryPage(items=items, next_cursor=next_cursor)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=WebhookDeliveryOut,
    responses=problem_responses(WebhookEndpointNotFound, WebhookDeliveryNotFound),
)
async def redeliver(
    provider: ExistingOwnedProviderDep,
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    session: SessionDep,
) -> WebhookDeliveryOut:
    """Send the delivery again (same ``webhook-id``, a fresh signature and retry window);
    the integrations worker sends it within seconds."""
    async with session.begin():
        await webhooks.get_endpoint(session, provider.id, endpoint_id)
        await delivery_log.get_delivery(session, endpoint_id, delivery_id)
        await webhook_delivery.redeliver(session, delivery_id)
        return await delivery_log.get_delivery(session, endpoint_id, delivery_id)
