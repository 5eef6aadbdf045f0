"""Backend-for-Frontend (OAuth 2.0 for Browser-Based Applications, §6.1).

The web service is the confidential client of the users service. After a sign-in the
browser arrives at ``GET /bff/session?code=`` with a one-time code; the BFF redeems it
server-to-server and keeps the session's tokens in ``web.bff_sessions``, sealed. The
browser gets only the session cookie (:mod:`calisera.web.session_cookie`).

- ``GET /bff/me``: who is signed in (401 when nobody).
- ``POST /bff/logout``: revokes the session at the users service, forgets it here.
- ``/bff/api/{service}/{path}``: forwarded to ``/api/v1/{service}/{path}`` of Calisera's
  own services (:data:`FORWARDED_SERVICES` only) with the session's access token,
  refreshed (and the refresh token rotated) when it is about to expire.

Every state-changing request (anything but GET/HEAD) needs ``X-Calisera-CSRF: 1`` and,
when the browser sends ``Origin``, this site's origin: a form or a cross-site page can
send neither. No CORS headers are ever sent, so other origins cannot read answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.clients import ServiceClient
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import Forbidden, NotFound, Unauthorized
from calisera.core.platform import Platform, ServiceLifespan
from calisera.core.sealing import seal, unseal
from calisera.core.settings import Settings
from calisera.core.state import state_dependency
from calisera.users.client import SessionEnded, UsersClient
from calisera.users.schemas import BFF_SESSION_PATH, TokenResponse
from calisera.web.models import BffSession
from calisera.web.session_cookie import (
    clear_session_cookie,
    read_session_cookie,
    set_session_cookie,
)

FORWARDED_SERVICES = (
    "providers",
    "bookings",
    "users",
    "notifications",
    "analytics",
    "integrations",
)
CSRF_HEADER = "X-Calisera-CSRF"
REFRESH_MARGIN = timedelta(seconds=60)
_PURPOSE = "bff-session-tokens"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_SEGMENT = re.compile(r"^[A-Za-z0-9._~:@!$&'()*+,;=-]+$")

router = APIRouter(include_in_schema=False)


class ForwardingClient(ServiceClient):
    def __init__(self, platform: Platform, service: str):
        self.service = service
        super().__init__(platform)


@dataclass
class BffState:
    users: UsersClient
    services: dict[str, ForwardingClient]
    secret: str


BffStateDep = Annotated[BffState, Depends(state_dependency(BffState))]


def with_bff(inner: ServiceLifespan) -> ServiceLifespan:
    """The web service's lifespan plus the BFF's clients (wired in ``web/api.py``)."""

    @contextlib.asynccontextmanager
    async def lifespan(platform: Platform) -> AsyncIterator[None]:
        async with inner(platform):
            reachable = [
                s
                for s in FORWARDED_SERVICES
                if platform.hosts(s) or platform.settings.service_url(s)
            ]
            if "users" not in reachable or not platform.settings.admin_token_value:
                yield  # no users service or no platform secret: no BFF in this process
                return
            state = platform.provide(
                BffState(
                    users=UsersClient(platform),
                    services={s: ForwardingClient(platform, s) for s in reachable},
                    secret=platform.settings.admin_token_value,
                )
            )
            try:
                yield
            finally:
                platform.discard(BffState)
                await state.users.aclose()
                for client in state.services.values():
                    await client.aclose()

    return lifespan


def _same_site_path(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/console"
    return value


def _digest(cookie: str) -> bytes:
    return hashlib.sha256(cookie.encode()).digest()


def _seconds_until(moment: datetime) -> int:
    return int((moment - datetime.now(UTC)).total_seconds())


def require_csrf_header(request: Request, settings: Settings) -> None:
    if request.method in _SAFE_METHODS:
        return
    if request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden(f"State-changing requests need the {CSRF_HEADER}: 1 header.")
    origin = request.headers.get("origin")
    public = urlsplit(settings.public_url)
    if origin is not None and origin != f"{public.scheme}://{public.netloc}":
        raise Forbidden("Requests from other origins are not accepted.")


async def _store(
    session: AsyncSession, state: BffState, tokens: TokenResponse, row: BffSession | None
) -> tuple[BffSession, str | None]:
    """Save ``tokens`` into ``row`` (or a new row with a new cookie value)."""
    cookie = None
    if row is None:
        cookie = secrets.token_urlsafe(32)
        row = BffSession(id_hash=_digest(cookie), users_session_id=tokens.session_id)
        session.add(row)
    row.refresh_token_sealed = seal(state.secret, _PURPOSE, tokens.refresh_token)
    row.access_token_sealed = seal(state.secret, _PURPOSE, tokens.access_token)
    row.access_expires_at = datetime.now(UTC) + timedelta(seconds=tokens.expires_in)
    row.refresh_expires_at = tokens.refresh_token_expires_at
    await session.flush()
    return row, cookie


@dataclass
class SessionTokens:
    """The access token to forward with; ``renewed`` when the cookie must be re-set."""

    access_token: str | None
    row: BffSession | None
    renewed: bool = False


async def session_tokens(
    session: AsyncSession, state: BffState, request: Request, settings: Settings
) -> SessionTokens:
    """The session's access token, refreshed under a row lock when about to expire (so
    parallel requests of one browser never present one refresh token twice)."""
    cookie = read_session_cookie(request, settings)
    if cookie is None:
        return SessionTokens(None, None)
    row = await session.scalar(
        sa.select(BffSession).where(BffSession.id_hash == _digest(cookie)).with_for_update()
    )
    now = datetime.now(UTC)
    if row is None or row.refresh_expires_at <= now:
        return SessionTokens(None, None)
    if row.access_expires_at - REFRESH_MARGIN > now:
        return SessionTokens(unseal(state.secret, _PURPOSE, row.access_token_sealed), row)
    refresh_token = unseal(state.secret, _PURPOSE, row.refresh_token_sealed)
    try:
        if refresh_token is None:
            raise SessionEnded("The stored session cannot be read.")
        tokens = await state.users.refresh(refresh_token)
    except SessionEnded:
        await session.delete(row)
        return SessionTokens(None, None)
    await _store(session, state, tokens, row)
    return SessionTokens(tokens.access_token, row, renewed=True)


def renew_cookie(response: Response, settings: Settings, request: Request, row: BffSession) -> None:
    cookie = read_session_cookie(request, settings)
    if cookie is not None:
        set_session_cookie(response, settings, cookie, _seconds_until(row.refresh_expires_at))


@router.get(BFF_SESSION_PATH)
async def start_session(
    platform: PlatformDep,
    state: BffStateDep,
    session: SessionDep,
    code: Annotated[str, Query(min_length=1, max_length=200)],
    return_to: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """The end of every browser sign-in: redeem the code, set the cookie, go on."""
    try:
        tokens = await state.users.redeem_sign_in_code(code)
    except SessionEnded as exc:
        raise Unauthorized("This sign-in has expired; sign in again.") from exc
    async with session.begin():
        row, cookie = await _store(session, state, tokens, None)
    assert cookie is not None
    response = RedirectResponse(_same_site_path(return_to), status_code=303)
    set_session_cookie(response, platform.settings, cookie, _seconds_until(row.refresh_expires_at))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/bff/logout", status_code=204)
async def logout(
    request: Request, platform: PlatformDep, state: BffStateDep, session: SessionDep
) -> Response:
    settings = platform.settings
    require_csrf_header(request, settings)
    response = Response(status_code=204)
    await end_session(request, response, settings, state, session)
    return response


async def end_session(
    request: Request, response: Response, settings: Settings, state: BffState, session: AsyncSession
) -> None:
    """Forget the browser's session here, revoke it at the users service, clear the cookie
    (shared by ``POST /bff/logout`` and the console's sign-out form)."""
    cookie = read_session_cookie(request, settings)
    refresh_token = None
    if cookie is not None:
        async with session.begin():
            row = await session.scalar(
                sa.delete(BffSession)
                .where(BffSession.id_hash == _digest(cookie))
                .returning(BffSession)
            )
            if row is not None:
                refresh_token = unseal(state.secret, _PURPOSE, row.refresh_token_sealed)
    if refresh_token is not None:
        await state.users.logout(refresh_token)
    clear_session_cookie(response, settings)


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/bff/api/{service}", methods=_METHODS)
@router.api_route("/bff/api/{service}/{path:path}", methods=_METHODS)
async def forward(
    service: str,
    request: Request,
    platform: PlatformDep,
    state: BffStateDep,
    session: SessionDep,
    path: str = "",
) -> Response:
    """Forward to one of Calisera's own services with the session's access token."""
    settings = platform.settings
    require_csrf_header(request, settings)
    client = state.services.get(service)
    segments = path.split("/") if path else []
    if client is None or any(s in (".", "..") or not _SEGMENT.match(s) for s in segments):
        raise NotFound("The BFF forwards only to Calisera's own APIs.")
    async with session.begin():
        tokens = await session_tokens(session, state, request, settings)
    if tokens.access_token is None:
        raise Unauthorized("Sign in first.")
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    for name in ("content-type", "accept", "if-none-match", "if-match", "idempotency-key"):
        if name in request.headers:
            headers[name] = request.headers[name]
    upstream = await client.request(
        request.method,
        f"/api/v1/{service}/{path}".rstrip("/"),
        params=request.query_params,
        content=await request.body(),
        headers=headers,
    )
    response = Response(
        upstream.content,
        status_code=upstream.status_code,
        media_type=upstream.headers.get("content-type"),
        headers={k: v for k, v in upstream.headers.items() if k.lower() in ("etag", "location")},
    )
    if tokens.renewed and tokens.row is not None:
        renew_cookie(response, settings, request, tokens.row)
    return response


@router.get("/bff/me")
async def me(
    request: Request, platform: PlatformDep, state: BffStateDep, session: SessionDep
) -> Response:
    """Who the session belongs to (``/api/v1/users/me`` through the BFF)."""
    return await forward("users", request, platform, state, session, path="me")
