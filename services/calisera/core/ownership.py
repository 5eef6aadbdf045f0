"""Who may act on a provider's data: the one dependency of every provider-scoped route.

The providers service knows each provider's owner; every other service asks it through
an :class:`OwnerDirectory` (the providers client, revalidating a small cache), which
the assembly installs in every process as :attr:`Platform.owners`. The platform admin
may act on any provider; a signed-in user only on the providers they own; anyone else
is told the provider does not exist (404, ``shared/API.md``), so ids of other tenants
reveal nothing. On the provider's own sub-resources (``/api/v1/providers/{id}/...``,
``authorize_provider(..., existing=True)``) a deleted provider is unknown to everyone,
the admin too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

from fastapi import Depends, Path
from starlette.requests import Request

from calisera.core.auth import CurrentPrincipal, Principal
from calisera.core.errors import NotFound, ServiceUnavailable


@dataclass(frozen=True)
class ProviderOwner:
    provider_id: uuid.UUID
    owner_email: str | None
    owner_subject: str | None


class OwnerDirectory(Protocol):
    async def owner_of(self, provider_id: uuid.UUID) -> ProviderOwner:
        """The provider's owner; raises :class:`NotFound` for an unknown provider."""
        ...


class ProviderNotFound(NotFound):
    slug, title = "provider-not-found", "No such provider"


@dataclass(frozen=True)
class OwnedProvider:
    """A provider the caller may act on, and in which role."""

    id: uuid.UUID
    principal: Principal
    role: Literal["admin", "owner"]

    @property
    def actor_id(self) -> str | None:
        return self.principal.subject or self.principal.email


async def authorize_provider(
    directory: OwnerDirectory | None,
    principal: Principal,
    provider_id: uuid.UUID,
    *,
    existing: bool = False,
) -> OwnedProvider:
    """The decision itself, for code that has no request (and for the dependency).

    ``existing``: the admin too is told 404 for a provider the directory does not know
    (deleted): what sub-resources of ``/api/v1/providers/{provider_id}`` need. Without
    it the admin may still read what another service keeps of a deleted provider.
    """
    principal.require_authenticated()
    if principal.is_admin and (directory is None or not existing):
        return OwnedProvider(provider_id, principal, "admin")
    if directory is None:
        raise ServiceUnavailable("Provider ownership cannot be checked in this process.")
    try:
        owner = await directory.owner_of(provider_id)
    except NotFound:  # unknown or deleted: 404 for the admin too
        raise ProviderNotFound() from None
    if principal.is_admin:
        return OwnedProvider(provider_id, principal, "admin")
    if not principal.owns(owner.owner_email, owner.owner_subject):
        raise ProviderNotFound()
    return OwnedProvider(provider_id, principal, "owner")


async def owned_provider(
    request: Request,
    principal: CurrentPrincipal,
    provider_id: Annotated[uuid.UUID, Path(description="The provider (UUID).")],
) -> OwnedProvider:
    directory: OwnerDirectory | None = request.app.state.platform.owners
    return await authorize_provider(directory, principal, provider_id)


OwnedProviderDep = Annotated[OwnedProvider, Depends(owned_provider)]


async def owned_existing_provider(
    request: Request,
    principal: CurrentPrincipal,
    provider_id: Annotated[uuid.UUID, Path(description="The provider (UUID).")],
) -> OwnedProvider:
    directory: OwnerDirectory | None = request.app.state.platform.owners
    return await authorize_provider(directory, principal, provider_id, existing=True)


ExistingOwnedProviderDep = Annotated[OwnedProvider, Depends(owned_existing_provider)]
""":data:`OwnedProviderDep` with ``existing=True``: a deleted provider is 404 for the
admin too (the provider's own sub-resources, e.g. its bookings list)."""
