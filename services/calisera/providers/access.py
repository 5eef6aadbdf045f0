"""Who may do what with a provider, decided against the provider row itself.

The platform admin may do everything, an owner manages their own providers (the rule
:func:`calisera.core.ownership.authorize_provider` applies for the other services, with
the same owner fields), anybody may see a public, unsuspended provider. Ids of
providers the caller may not see, and of deleted ones, answer 404."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.auth import Principal
from calisera.core.errors import NotFound
from calisera.providers.models import (
    Provider,
    Service,
)


def may_manage(principal: Principal, p: Provider) -> bool:
    return principal.is_admin or principal.owns(p.owner_email, p.owner_subject)


async def managed_provider(
    session: AsyncSession, provider_id: uuid.UUID, principal: Principal, *, lock: bool = False
) -> Provider:
    """The provider if the caller may manage it; 401 anonymous, 404 for anyone else."""
    principal.require_authenticated()
    p = await session.get(Provider, provider_id, with_for_update=lock or None)
    if p is None or not may_manage(principal, p):
        raise NotFound(f"No provider {provider_id}.")
    return p


async def visible_provider(
    session: AsyncSession, provider_id: uuid.UUID, principal: Principal
) -> Provider:
    """A provider whose public artefacts (QR code) the caller may see."""
    p = await session.get(Provider, provider_id)
    if p is None or (p.suspended and not may_manage(principal, p)):
        raise NotFound(f"No provider {provider_id}.")
    return p


async def managed_service(
    session: AsyncSession,
    provider_id: uuid.UUID,
    service_id: uuid.UUID,
    principal: Principal,
    *,
    lock: bool = False,
) -> Service:
    await managed_provider(session, provider_id, principal)
    s = await session.get(Service, service_id, with_for_update=lock or None)
    if s is None or s.provider_id != provider_id:
        raise NotFound(f"No service {service_id}.")
    return s
