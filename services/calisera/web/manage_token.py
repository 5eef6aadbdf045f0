"""Where a customer's manage token lives in the browser: an HttpOnly cookie scoped to
that one booking's pages, never the URL.

E-mails link to ``/p/{slug}/manage/{id}?token=...`` (that is how the customer lands).
The landing keeps the token in a cookie and answers with the same address without it, so
browser history, access logs and ``Referer`` headers never hold it. The cookie is
``SameSite=Strict`` (no other site can make the browser cancel or move a booking),
``HttpOnly`` (no script reads it), ``Secure`` over TLS, and its ``Path`` is the booking's
manage path, so it goes with that booking's pages (cancel, reschedule, ``.ics``) only.

A ``Strict`` cookie set by a navigation that started on another site (the mail client)
is not sent on the redirect that follows it, so such a landing answers a tiny page that
sends the browser on by itself (``Refresh``): that second request starts on our page
and carries the cookie.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from calisera.web import views
from calisera.web.pages import redirect, served_over_tls

COOKIE = "calisera_manage"
MAX_AGE = timedelta(days=30)
"""Long enough to come back to a booking from the same browser; a later e-mail link
sets it again."""


def manage_path(slug: str, booking_id: object) -> str:
    return f"/p/{slug}/manage/{booking_id}"


def token_of(request: Request) -> str | None:
    """The manage token this browser holds for the booking whose page this is."""
    return request.cookies.get(COOKIE) or None


def remember(response: Response, request: Request, *, path: str, token: str) -> Response:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(MAX_AGE.total_seconds()),
        path=path,
        secure=served_over_tls(request),
        httponly=True,
        samesite="strict",
    )
    return response


def without_token(request: Request) -> str:
    """This request's path and query, less ``token``."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    return request.url.path + ("?" + urlencode(kept) if kept else "")


def land(request: Request, *, path: str, token: str) -> Response:
    """The answer to an address carrying a (verified) token: keep it, drop it from the URL."""
    target = without_token(request)
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        response: Response = views.render("opening.html", provider=None, target=target)
        response.headers["Refresh"] = f"0; url={target}"
    else:
        response = redirect(target)
    return remember(response, request, path=path, token=token)
