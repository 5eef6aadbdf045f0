"""The provider console's door: sign-in, sign-out, the sessions list, the installable
shell (manifest, service worker, offline page) and the static assets of every page.

Sign-in hands over to the users service (``/auth/login/{idp}``, ``/auth/magic-link``),
whose flows end at the BFF (``/bff/session``), which sets the cookie and comes back to
``/console``. Passkeys (``/auth/passkeys/``) get a button here once that API exists.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import FileResponse, Response

from calisera.core.clients import raise_for_problem
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import InvalidInput
from calisera.web import views
from calisera.web.bff import BffState, end_session
from calisera.web.console_session import (
    ApiDep,
    BffDep,
    console_router,
    field_errors,
    new_nonce,
    parse_id,
    render,
)
from calisera.web.pages import redirect

router = console_router()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@router.get("/console")
async def console_home(api: ApiDep) -> Response:
    await api.my_provider()  # none yet: onboarding
    return redirect("/console/agenda")


@router.get("/console/sign-in")
async def sign_in_page(request: Request, state: BffDep) -> Response:
    return await _sign_in(state, values={}, errors={})


async def _sign_in(
    state: BffState, *, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Response:
    answer = await state.users.request("GET", "/auth/providers")
    raise_for_problem(answer, service="users")
    return render(
        "console/sign_in.html",
        title="Sign in",
        status_code=status_code,
        identity_providers=answer.json()["items"],
        values=values,
        errors=errors,
    )


@router.post("/console/sign-in/magic-link")
async def send_magic_link(state: BffDep, email: Annotated[str, Form()] = "") -> Response:
    email = email.strip()
    if not _EMAIL.match(email):
        errors = {"email": "Enter the e-mail address you want the link sent to."}
        return await _sign_in(state, values={"email": email}, errors=errors, status_code=422)
    answer = await state.users.request(
        "POST", "/auth/magic-link", json={"email": email}, params={"return_to": "/console"}
    )
    try:
        raise_for_problem(answer, service="users")
    except InvalidInput as exc:
        errors = field_errors(exc)
        return await _sign_in(state, values={"email": email}, errors=errors, status_code=422)
    return render("console/link_sent.html", title="Check your e-mail", email=email)


@router.post("/console/sign-out")
async def sign_out(
    request: Request, platform: PlatformDep, state: BffDep, session: SessionDep
) -> Response:
    response = redirect("/console/sign-in")
    await end_session(request, response, platform.settings, state, session)
    return response


@router.get("/console/account")
async def account(api: ApiDep) -> Response:
    provider = await api.my_provider()
    me = await api.get("users", "/me")
    sessions = await api.get("users", "/me/sessions")
    return render(
        "console/account.html",
        title="Account",
        nav="account",
        provider=provider,
        me=me,
        sessions=sessions["items"],
        nonce=new_nonce(),
    )


@router.post("/console/account/sessions/{session_id}/revoke")
async def revoke_session(api: ApiDep, session_id: str) -> Response:
    await api.call("DELETE", "users", f"/me/sessions/{parse_id(session_id)}")
    return redirect("/console/account")


# --- the installable shell -------------------------------------------------------------


@router.get("/console/offline")
async def offline() -> Response:
    """What the service worker shows when a screen cannot be loaded (cached at install)."""
    response = render(
        "console/message.html",
        title="You are offline",
        message="This screen needs a connection. It will load again once you are back online.",
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/console/manifest.webmanifest")
async def console_manifest() -> Response:
    return FileResponse(
        views.STATIC_DIR / "console" / "manifest.webmanifest",
        media_type="application/manifest+json",
    )


@router.get("/console/sw.js")
async def console_service_worker() -> Response:
    """Served under /console so its scope can be the console (not the customer pages)."""
    return FileResponse(
        views.STATIC_DIR / "console" / "sw.js",
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/console", "Cache-Control": "no-cache"},
    )


# --- static assets -------------------------------------------------------------------

_MEDIA_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}


@router.get("/static/{path:path}")
async def static_file(path: str) -> Response:
    """Files of ``calisera/web/static`` (no directory listing, nothing outside it)."""
    root = views.STATIC_DIR
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return views.not_found_page("There is no such file.")
    return FileResponse(
        target,
        media_type=_MEDIA_TYPES.get(target.suffix, "application/octet-stream"),
        headers={"Cache-Control": "public, max-age=3600"},
    )
