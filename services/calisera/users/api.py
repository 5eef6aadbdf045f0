"""HTTP routes of the users service.

So far: the public key set every service verifies Calisera access tokens with, and
``/api/v1/users/me``. Sign-in flows (OIDC with PKCE, magic links, refresh rotation,
BFF cookie sessions) are the users service's next step.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from calisera.core.auth import CurrentPrincipal
from calisera.core.dependencies import PlatformDep
from calisera.core.errors import NotFound
from calisera.core.platform import ServiceSpec

router = APIRouter()


@router.get("/.well-known/jwks.json", tags=["users"])
async def jwks(platform: PlatformDep) -> JSONResponse:
    """Public keys of the access-token signer, for services that verify tokens."""
    if platform.token_issuer is None:
        raise NotFound("This process does not sign access tokens.")
    return JSONResponse(
        platform.token_issuer.jwks(), headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/api/v1/users/me", tags=["users"])
async def me(principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require_authenticated()
    return {"kind": principal.kind, "subject": principal.subject, "email": principal.email}


spec = ServiceSpec(name="users", routers=[router])
