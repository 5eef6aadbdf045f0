"""The BFF's session cookie: the only thing about a session the browser holds.

``__Host-calisera_session``: HttpOnly, Secure, SameSite=Strict, Path=/ and no Domain,
so no script, no other site and no sibling subdomain can read, send or overwrite it.
Its Max-Age follows the refresh token's lifetime, renewed at each rotation.
Documented exception: with a plain-HTTP public URL (``calisera up`` on
``http://127.0.0.1``) browsers refuse ``__Host-`` and Secure cookies, so the cookie is
``calisera_session`` without Secure; everything else stays.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from calisera.core.settings import Settings

SECURE_NAME = "__Host-calisera_session"
LOOPBACK_NAME = "calisera_session"


def is_secure(settings: Settings) -> bool:
    return not settings.public_url.startswith("http://")


def cookie_name(settings: Settings) -> str:
    return SECURE_NAME if is_secure(settings) else LOOPBACK_NAME


def read_session_cookie(request: Request, settings: Settings) -> str | None:
    value = request.cookies.get(cookie_name(settings))
    return value if value and len(value) <= 200 else None


def set_session_cookie(response: Response, settings: Settings, value: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(settings),
        value,
        max_age=max(max_age, 0),
        path="/",
        httponly=True,
        secure=is_secure(settings),
        samesite="strict",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_name(settings),
        path="/",
        httponly=True,
        secure=is_secure(settings),
        samesite="strict",
    )
