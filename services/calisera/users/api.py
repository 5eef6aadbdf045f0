"""HTTP routes of the users service: parse, authorize, call the service modules, shape
the answer. Routes own the transaction.

- ``GET /.well-known/jwks.json``: the keys access tokens are verified with (current and
  retired-but-not-expired).
- ``POST /auth/token``: ``{"grant_type": "refresh_token", "refresh_token"}`` rotates a
  refresh token; ``{"grant_type": "sign_in_code", "code"}`` (platform credential only:
  the web BFF) redeems the one-time code a browser sign-in ends with.
- ``POST /auth/logout``: revokes the session of the refresh token in the body, or of the
  bearer access token.
- ``GET /api/v1/users/me``, ``GET /api/v1/users/me/sessions``,
  ``DELETE /api/v1/users/me/sessions/{session_id}``.
- Sign-in: :mod:`calisera.users.sign_in_routes` (OIDC and magic links).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

from calisera.core.auth import CurrentPrincipal, Principal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import NotFound, ServiceUnavailable, Unauthorized
from calisera.core.openapi import problem_responses
from calisera.core.platform import Platform, ServiceSpec
from calisera.core.tokens import TokenIssuer
from calisera.users import accounts, sessions
from calisera.users.abuse_limits import AbuseLimitsDep, TooManyAttempts
from calisera.users.account_routes import router as account_router
from calisera.users.passkey_routes import router as passkey_router
from calisera.users.schemas import (
    LogoutRequest,
    Me,
    RefreshGrant,
    SessionList,
    SessionOut,
    SignInCodeGrant,
    TokenResponse,
)
from calisera.users.sign_in_routes import lifespan
from calisera.users.sign_in_routes import router as sign_in_router

router = APIRouter(tags=["users"])


def issuer_of(platform: Platform) -> TokenIssuer:
    if platform.token_issuer is None:
        raise ServiceUnavailable("This process has no signing key (CALISERA_JWT_PRIVATE_KEY).")
    return platform.token_issuer


def token_response(pair: sessions.TokenPair) -> JSONResponse:
    body = TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.access_expires_in,
        refresh_token=pair.refresh_token,
        refresh_token_expires_at=pair.refresh_expires_at,
        session_id=pair.session_id,
    )
    return JSONResponse(
        body.model_dump(mode="json"), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )


@router.get("/.well-known/jwks.json", responses=problem_responses(404))
async def jwks(platform: PlatformDep) -> JSONResponse:
    """Public keys of the access-token signer, for services that verify tokens."""
    if platform.token_issuer is None:
        raise NotFound("This process does not sign access tokens.")
    return JSONResponse(
        platform.token_issuer.jwks(), headers={"Cache-Control": "public, max-age=300"}
    )


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses=problem_responses(sessions.InvalidGrant, TooManyAttempts),
)
async def token(
    grant: Annotated[RefreshGrant | SignInCodeGrant, Body(discriminator="grant_type")],
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    abuse: AbuseLimitsDep,
) -> JSONResponse:
    """Next token pair. Callers other than the platform's own BFF are counted per client
    address (429 with ``Retry-After``)."""
    if not principal.is_admin:
        await abuse.token_from(request)
    issuer = issuer_of(platform)
    if isinstance(grant, SignInCodeGrant):
        if not principal.is_admin:
            raise Unauthorized("Sign-in codes are redeemed by the web service only.")
        async with session.begin():
            pair = await sessions.redeem_sign_in_code(session, issuer, grant.code)
        return token_response(pair)
    async with session.begin():
        rotation = await sessions.rotate(session, issuer, grant.refresh_token)
    if rotation.reused:
        raise sessions.RefreshTokenReused(
            "This refresh token was already used; its session is revoked. Sign in again."
        )
    if rotation.tokens is None:
        raise sessions.InvalidGrant("The refresh token is unknown, expired or revoked.")
    return token_response(rotation.tokens)


@router.post("/auth/logout", status_code=204, responses=problem_responses(Unauthorized))
async def logout(
    session: SessionDep, principal: CurrentPrincipal, body: LogoutRequest | None = None
) -> Response:
    """Sign out: the session ends; its refresh tokens stop working at once."""
    async with session.begin():
        session_id = None
        if body is not None and body.refresh_token:
            session_id = await sessions.session_of_refresh_token(session, body.refresh_token)
        elif principal.kind == "user" and principal.session_id:
            session_id = uuid.UUID(principal.session_id)
        else:
            raise Unauthorized("Send the refresh token, or the access token of the session.")
        if session_id is not None:
            await sessions.revoke(session, session_id, reason="logout")
    return Response(status_code=204)


@router.get("/api/v1/users/me", response_model=Me)
async def me(principal: CurrentPrincipal, session: SessionDep) -> Me:
    principal.require_authenticated()
    async with session.begin():
        account = await accounts.account_of(session, principal)
    return Me(
        kind=principal.kind,
        subject=principal.subject,
        email=principal.email,
        account_id=account.id if account else None,
        name=account.name if account else None,
    )


async def _account_id(session: SessionDep, principal: Principal) -> uuid.UUID:
    account = await accounts.account_of(session, principal)
    if account is None:
        raise NotFound("There is no account for this token.")
    return account.id


@router.get(
    "/api/v1/users/me/sessions", response_model=SessionList, responses=problem_responses(404)
)
async def my_sessions(principal: CurrentPrincipal, session: SessionDep) -> SessionList:
    """The signed-in user's active sessions (devices), most recently used first."""
    async with session.begin():
        rows = await sessions.active_sessions(session, await _account_id(session, principal))
    current = principal.session_id
    return SessionList(
        items=[
            SessionOut(
                id=r.id,
                method=r.method,
                idp=r.idp,
                user_agent=r.user_agent,
                ip=r.ip,
                created_at=r.created_at,
                last_used_at=r.last_used_at,
                expires_at=r.expires_at,
                current=str(r.id) == current,
            )
            for r in rows
        ]
    )


@router.delete("/api/v1/users/me/sessions/{session_id}", status_code=204)
async def revoke_my_session(
    session_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """Sign a device out; another user's session is a 404."""
    async with session.begin():
        account_id = await _account_id(session, principal)
        if not await sessions.revoke(
            session, session_id, reason="revoked_by_user", account_id=account_id
        ):
            raise NotFound("No such active session.")
    return Response(status_code=204)


spec = ServiceSpec(
    name="users",
    routers=[router, sign_in_router, passkey_router, account_router],
    schema="users",
    lifespan=lifespan,
)
