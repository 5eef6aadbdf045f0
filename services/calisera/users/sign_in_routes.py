"""Browser sign-in routes of the users service: OpenID Connect and magic links.

Every successful sign-in opens a session and ends in a redirect to the web BFF
(:data:`~calisera.users.schemas.BFF_SESSION_PATH`) with a one-time code the BFF
redeems server-to-server; the browser never sees a Calisera token.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, BackgroundTasks, Cookie, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import ServiceUnavailable
from calisera.core.openapi import problem_responses
from calisera.core.platform import Platform
from calisera.core.settings import Settings
from calisera.core.state import state_dependency
from calisera.notifications.client import NotificationsClient
from calisera.notifications.schemas import TransactionalEmail
from calisera.users import accounts, magic_links, oidc, sessions
from calisera.users.abuse_limits import (
    AbuseLimits,
    AbuseLimitsDep,
    SignInAttempt,
    TooManyAttempts,
    client_address,
    refusals_logged,
)
from calisera.users.export import ExportState
from calisera.users.models import Account
from calisera.users.schemas import (
    BFF_SESSION_PATH,
    IdentityProviderList,
    IdentityProviderOut,
    MagicLinkRequest,
)

log = structlog.get_logger("calisera.users.sign_in")

router = APIRouter(tags=["users"])

LOGIN_COOKIE = "calisera_oidc_login"
DEFAULT_RETURN_TO = "/console"


@dataclass
class SignInState:
    """The users service's process-wide sign-in objects, built in its lifespan."""

    idps: oidc.IdentityProviders
    mail: NotificationsClient | None
    """None where no notifications service is reachable (magic links answer 503)."""


SignInStateDep = Annotated[SignInState, Depends(state_dependency(SignInState))]


@contextlib.asynccontextmanager
async def lifespan(platform: Platform) -> AsyncIterator[None]:
    mail = None
    if platform.hosts("notifications") or platform.settings.service_url("notifications"):
        mail = NotificationsClient(platform)
    platform.provide(SignInState(oidc.IdentityProviders(platform.settings.oidc_providers), mail))
    abuse = platform.provide(AbuseLimits.from_settings(platform.settings))
    exports = ExportState.reachable(platform)
    if exports is not None:
        platform.provide(exports)
    try:
        yield
    finally:
        platform.discard(SignInState)
        platform.discard(AbuseLimits)
        platform.discard(ExportState)
        await abuse.aclose()
        if exports is not None:
            await exports.aclose()
        if mail is not None:
            await mail.aclose()


def safe_return_to(value: str | None) -> str:
    """Only paths of this site: no scheme, no host, no ``//`` (an open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return DEFAULT_RETURN_TO
    return value


def secure_cookies(settings: Settings) -> bool:
    """Secure cookies everywhere but plain-HTTP development (``http://127.0.0.1``)."""
    return not settings.public_url.startswith("http://")


def _callback_url(settings: Settings, name: str) -> str:
    return f"{settings.public_url.rstrip('/')}/auth/callback/{name}"


async def hand_off(
    session: SessionDep, account: Account, request: Request, *, method: str, idp: str | None
) -> str:
    """Open the session and give the URL that hands it to the web BFF."""
    row = await sessions.open_session(
        session,
        account,
        method=method,
        idp=idp,
        user_agent=request.headers.get("user-agent"),
        ip=request.client.host if request.client else None,
    )
    return await sessions.create_sign_in_code(session, row)


def bff_redirect(code: str, return_to: str) -> RedirectResponse:
    query = urlencode({"code": code, "return_to": return_to})
    return RedirectResponse(f"{BFF_SESSION_PATH}?{query}", status_code=303)


@router.get("/auth/providers", response_model=IdentityProviderList)
async def list_identity_providers(state: SignInStateDep) -> IdentityProviderList:
    """The identity providers a person can sign in with (for the sign-in page)."""
    providers = state.idps
    return IdentityProviderList(
        items=[
            IdentityProviderOut(name=n, label=providers.label(n), login_url=f"/auth/login/{n}")
            for n in providers.configured
        ]
    )


LIMITED = problem_responses(TooManyAttempts)
"""Every sign-in route counts attempts per client address (:mod:`.abuse_limits`)."""


@router.get("/auth/login/{idp}", status_code=302, dependencies=[SignInAttempt], responses=LIMITED)
async def login(
    idp: str,
    platform: PlatformDep,
    state: SignInStateDep,
    session: SessionDep,
    return_to: Annotated[str | None, Query(max_length=500)] = None,
) -> RedirectResponse:
    """Start signing in at ``idp``: to its authorization endpoint, with PKCE, state, nonce."""
    settings = platform.settings
    async with session.begin():
        started = await oidc.start_login(
            session,
            state.idps,
            idp,
            redirect_uri=_callback_url(settings, idp),
            return_to=safe_return_to(return_to),
        )
    response = RedirectResponse(started.authorize_url, status_code=302)
    response.set_cookie(
        LOGIN_COOKIE,
        started.binding,
        max_age=int(oidc.LOGIN_TTL.total_seconds()),
        path=f"/auth/callback/{idp}",
        httponly=True,
        secure=secure_cookies(settings),
        samesite="lax",  # the callback is a top-level navigation from the provider
    )
    return response


@router.get(
    "/auth/callback/{idp}",
    status_code=303,
    dependencies=[SignInAttempt],
    responses=problem_responses(
        oidc.InvalidLoginState, oidc.IdentityProviderRefused, oidc.InvalidIdToken, TooManyAttempts
    ),
)
async def callback(
    idp: str,
    request: Request,
    platform: PlatformDep,
    sign_in: SignInStateDep,
    session: SessionDep,
    state: Annotated[str, Query(min_length=1, max_length=500)],
    code: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    binding: Annotated[str | None, Cookie(alias=LOGIN_COOKIE)] = None,
) -> RedirectResponse:
    """Finish signing in: check state and browser, exchange the code, validate the ID
    token, link by verified e-mail, then hand the session to the web BFF."""
    with refusals_logged("oidc", request, idp):
        async with session.begin():
            started = await oidc.consume_login(session, idp, state)
        if error or not code:
            raise oidc.IdentityProviderRefused(f"{idp}: {error or 'no code returned'}")
        finished = await oidc.finish_login(
            sign_in.idps,
            idp,
            started,
            code=code,
            binding=binding,
            redirect_uri=_callback_url(platform.settings, idp),
        )
        async with session.begin():
            account = await accounts.account_for_identity(session, finished.identity)
            sign_in_code = await hand_off(session, account, request, method="oidc", idp=idp)
        log.info(
            "signed_in",
            method="oidc",
            idp=idp,
            account_id=str(account.id),
            client=client_address(request),
        )
    response = bff_redirect(sign_in_code, finished.return_to)
    response.delete_cookie(LOGIN_COOKIE, path=f"/auth/callback/{idp}")
    return response


async def _send_link(client: NotificationsClient, email: TransactionalEmail) -> None:
    """After the 202 went out: a failure is logged (without the link), never shown."""
    try:
        await client.send_email(email)
    except ServiceUnavailable as exc:
        log.warning("magic_link_not_sent", error=exc.detail)


@router.post(
    "/auth/magic-link",
    status_code=202,
    response_class=Response,
    dependencies=[SignInAttempt],
    responses={
        202: {"description": "Accepted; the link is on its way if the address is known"},
        **LIMITED,
    },
)
async def request_magic_link(
    body: MagicLinkRequest,
    platform: PlatformDep,
    sign_in: SignInStateDep,
    abuse: AbuseLimitsDep,
    session: SessionDep,
    background: BackgroundTasks,
    return_to: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Send a sign-in link to ``email``; 202 whether or not it has an account. At most
    a few links per address and window (429 with ``Retry-After`` beyond, for known and
    unknown addresses alike: the limit reveals nothing)."""
    await abuse.sign_in_for(body.email)
    client = sign_in.mail
    if client is None:
        raise ServiceUnavailable("E-mail cannot be sent from here (no notifications service).")
    async with session.begin():
        token = await magic_links.create_link(session, body.email, safe_return_to(return_to))
    address = accounts.normalise_email(body.email)
    email = magic_links.link_email(platform.settings.public_url, address, token)
    background.add_task(_send_link, client, email)
    log.info("magic_link_requested", email_key=abuse.email_key(address))
    return Response(status_code=202)


@router.get(
    magic_links.CALLBACK_PATH,
    status_code=303,
    dependencies=[SignInAttempt],
    responses=problem_responses(magic_links.InvalidMagicLink, TooManyAttempts),
)
async def follow_magic_link(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Query(min_length=1, max_length=200)],
) -> RedirectResponse:
    """Following the link proves the address: sign in (creating the account the first
    time) and hand the session to the web BFF, which lands in the console."""
    with refusals_logged("magic_link", request):
        async with session.begin():
            link = await magic_links.consume_link(session, token)
        async with session.begin():
            account = await accounts.account_for_verified_email(session, link.email)
            code = await hand_off(session, account, request, method="magic_link", idp=None)
        log.info(
            "signed_in",
            method="magic_link",
            account_id=str(account.id),
            client=client_address(request),
        )
    return bff_redirect(code, link.return_to)
