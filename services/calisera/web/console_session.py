"""What every console screen shares: the signed-in provider's way to the APIs, the route
class that sends strangers to the sign-in screen, and forms that change things once.

The console is rendered on the server, but it talks to the services exactly as the
browser's BFF does (:mod:`calisera.web.bff`): with the access token of the browser's
session, through the public API paths. It never reads another service's tables.

Forms post to ``/console/...`` (``form-action 'self'``). The session cookie is
``SameSite=Strict``, so a cross-site form arrives without it and meets the sign-in
screen; a POST whose ``Origin`` is not this site is refused as well. Every form carries a
random nonce: the first submit claims it in ``web.form_submissions``, a repeat (double
tap, resend after a reload) changes nothing and lands where the first one went.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.clients import raise_for_problem
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import FieldError, InvalidInput, NotFound, Problem, ServiceUnavailable
from calisera.core.platform import Platform
from calisera.web import views
from calisera.web.bff import BffState, renew_cookie, session_tokens
from calisera.web.models import FormSubmission
from calisera.web.pages import PageRoute, redirect, security_headers, served_over_tls

SIGN_IN_PATH = "/console/sign-in"
WELCOME_PATH = "/console/welcome"
NONCE_LIFETIME = timedelta(days=1)
CONSOLE_REFERRER_POLICY = "same-origin"
"""Not ``no-referrer`` as on the customer pages: under it a browser sends ``Origin: null``
with a form POST, and the console's forms are checked by their ``Origin``. Console
addresses hold no secrets, and other sites still get no referrer."""


class SignInRequired(Exception):
    """No (or an ended) session: the answer is the sign-in screen."""


class OnboardingRequired(Exception):
    """Signed in but no booking page yet: the answer is the first onboarding screen."""


class ConsoleRoute(PageRoute):
    """A console screen: a stranger is sent to sign in, a new user to onboarding, a POST
    from another origin is refused, and a refreshed session renews its cookie."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            if request.method == "POST" and not _same_origin(request):
                response = render(
                    "console/message.html",
                    status_code=403,
                    title="Not sent from this site",
                    message="This form was not sent from the Calisera console.",
                )
            else:
                try:
                    response = await handler(request)
                except SignInRequired:
                    response = redirect(SIGN_IN_PATH)
                except OnboardingRequired:
                    response = redirect(WELCOME_PATH)
            # answers made here, outside PageRoute's handler, get the same headers
            response.headers.update(security_headers(tls=served_over_tls(request)))
            if request.url.path.startswith("/console"):
                response.headers["Referrer-Policy"] = CONSOLE_REFERRER_POLICY
            renewal = getattr(request.state, "renewed_session", None)
            if renewal is not None:
                platform: Platform = request.app.state.platform
                renew_cookie(response, platform.settings, request, renewal)
            return response

        return console_handler


def render(
    template: str,
    *,
    title: str,
    nav: str | None = None,
    provider: dict[str, Any] | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A console screen; ``nav`` marks the current tab (none before onboarding ends)."""
    context.setdefault("errors", {})
    context.setdefault("values", {})
    return views.render(
        template, status_code=status_code, title=title, nav=nav, provider=provider, **context
    )


def console_router() -> APIRouter:
    return APIRouter(include_in_schema=False, route_class=ConsoleRoute)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    platform: Platform = request.app.state.platform
    public = urlsplit(platform.settings.public_url)
    own = {f"{public.scheme}://{public.netloc}", f"{request.url.scheme}://{request.url.netloc}"}
    return origin in own


# --- the APIs, with the session's token ---------------------------------------------


@dataclass
class ConsoleApi:
    """Calls ``/api/v1/{service}/...`` as the signed-in user (what ``/bff/api`` forwards)."""

    state: BffState
    token: str

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        client = self.state.services.get(service)
        if client is None:
            raise NotFound(f"The {service} service is not reachable from the console.")
        headers = {"Authorization": f"Bearer {self.token}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if content_type:
            headers["Content-Type"] = content_type
        response = await client.request(
            method,
            f"/api/v1/{service}{path}",
            json=json,
            content=content,
            params=params,
            headers=headers,
        )
        if response.status_code == 401:
            raise SignInRequired
        raise_for_problem(response, service=service)
        return response

    async def get(self, service: str, path: str, **params: Any) -> Any:
        response = await self.call("GET", service, path, params=params or None)
        return response.json()

    async def send(self, method: str, service: str, path: str, body: Any = None, **kw: Any) -> Any:
        response = await self.call(method, service, path, json=body, **kw)
        return response.json() if response.content else None

    async def my_provider(self) -> dict[str, Any]:
        """The booking page this user runs (the first they own); none yet: onboarding."""
        page = await self.get("providers", "", limit=1)
        if not page["items"]:
            raise OnboardingRequired
        provider: dict[str, Any] = page["items"][0]
        return provider


def bff_state(platform: PlatformDep) -> BffState:
    """The BFF's clients; none in a process without the users service: the 503 page."""
    try:
        return platform.get(BffState)
    except RuntimeError as exc:
        raise ServiceUnavailable("Signing in needs the users service.") from exc


BffDep = Annotated[BffState, Depends(bff_state)]


async def _console_api(
    request: Request, platform: PlatformDep, session: SessionDep, state: BffDep
) -> ConsoleApi:
    async with session.begin():
        tokens = await session_tokens(session, state, request, platform.settings)
    if tokens.access_token is None:
        raise SignInRequired
    if tokens.renewed:
        request.state.renewed_session = tokens.row
    return ConsoleApi(state, tokens.access_token)


ApiDep = Annotated[ConsoleApi, Depends(_console_api)]


# --- forms ---------------------------------------------------------------------------


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


async def claim_nonce(session: AsyncSession, nonce: str | None) -> bool:
    """True the first time a form's nonce is presented; a repeat (or none) is False."""
    if not nonce or len(nonce) > 64:
        return False
    async with session.begin():
        await session.execute(
            sa.delete(FormSubmission).where(
                FormSubmission.created_at < datetime.now(UTC) - NONCE_LIFETIME
            )
        )
        claimed = await session.scalar(
            insert(FormSubmission)
            .values(nonce=nonce)
            .on_conflict_do_nothing()
            .returning(FormSubmission.nonce)
        )
    return claimed is not None


def field_errors(exc: Problem) -> dict[str, str]:
    """The API's ``errors[]`` by field (``name``, ``recurrence.rrule``, ``weekly[2].end``);
    a problem without fields is shown at the top of the form under ``""``."""
    errors: dict[str, str] = {}
    for error in getattr(exc, "errors", None) or []:
        if isinstance(error, FieldError):
            errors.setdefault(error.field, error.message)
    if not errors:
        errors[""] = str(exc)
    return errors


def refuse(field: str, message: str) -> InvalidInput:
    """A field error found by the console itself (a time it cannot read), shown the same way."""
    return InvalidInput.field(field, message)


def parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound("no such id") from exc
