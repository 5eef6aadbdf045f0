"""Routes of the provider's answer to a request: confirm or decline.

From the app: ``POST /api/v1/bookings/{id}/confirm|decline`` as the provider's owner
or the admin. From the e-mail: the link carries a signed token
(:mod:`calisera.bookings.decision_links`); ``GET .../decision?token=`` shows the
request with two buttons and changes nothing (mail scanners open links), the buttons
``POST .../decision``. The same token also works as ``X-Decision-Token`` on the two
JSON routes. A wrong token is a 404, as for anyone the booking is not theirs to see.
"""

from __future__ import annotations

import html
import uuid
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Header, Query
from fastapi.responses import HTMLResponse

from calisera.bookings import decisions, queries
from calisera.bookings.access import Actor
from calisera.bookings.decision_links import valid_decision_token
from calisera.bookings.deps import actor_for, provider_write, utc_now
from calisera.bookings.errors import (
    BookingNotFound,
    InvalidTransition,
    RequestExpired,
)
from calisera.bookings.schemas import BookingAction, BookingOut
from calisera.core.auth import CurrentPrincipal, Principal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import Problem
from calisera.core.openapi import problem_responses
from calisera.core.platform import Platform
from calisera.core.text import SingleLine

router = APIRouter(tags=["bookings"])

DecisionToken = Annotated[
    str | None,
    Header(
        alias="X-Decision-Token",
        description="The signed token of the provider's e-mail link (instead of a sign-in).",
    ),
]
TokenText = Annotated[str, SingleLine(200, min_length=1)]
LINK_ACTOR = Actor("owner", "decision-link")
_ANSWER_PROBLEMS = problem_responses(401, 404, InvalidTransition, RequestExpired)


async def _decider(platform: Platform, row: Any, principal: Principal, token: str | None) -> Actor:
    """The owner or admin, or whoever holds the booking's signed link; else 404."""
    if valid_decision_token(platform.settings.admin_token_value, row.id, token):
        return LINK_ACTOR
    if not principal.is_authenticated:
        principal.require_authenticated()
    return await actor_for(platform, row, principal, None, staff_only=True)


async def _answer(
    platform: Platform,
    session: Any,
    booking_id: uuid.UUID,
    principal: Principal,
    token: str | None,
    answer: Literal["confirm", "decline"],
    reason: str | None,
) -> BookingOut:
    async with session.begin():
        row = await queries.load_booking(session, booking_id)
    actor = await _decider(platform, row, principal, token)

    async def work() -> BookingOut:
        if answer == "confirm":
            return await decisions.confirm_request(session, booking_id, actor, utc_now())
        return await decisions.decline_request(session, booking_id, actor, utc_now(), reason=reason)

    result = await provider_write(platform, session, row.provider_id, work)
    _refuse_expired(result)
    return result


def _refuse_expired(result: BookingOut) -> None:
    """After the commit that recorded the expiry: the answer came too late."""
    if result.status == "expired":
        raise RequestExpired("The request expired before it was answered; its time is free.")


@router.post(
    "/api/v1/bookings/{booking_id}/confirm", response_model=BookingOut, responses=_ANSWER_PROBLEMS
)
async def confirm_request(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    decision_token: DecisionToken = None,
) -> BookingOut:
    """Confirm a pending request (owner, admin or the e-mail's signed token).

    Confirming a confirmed booking again returns it unchanged; a declined, cancelled
    request is a 409 ``invalid-transition``, an expired one a 409 ``request-expired``.
    """
    return await _answer(platform, session, booking_id, principal, decision_token, "confirm", None)


@router.post(
    "/api/v1/bookings/{booking_id}/decline", response_model=BookingOut, responses=_ANSWER_PROBLEMS
)
async def decline_request(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    body: BookingAction | None = None,
    decision_token: DecisionToken = None,
) -> BookingOut:
    """Decline a pending request and free its time; ``reason`` is told to the customer."""
    reason = body.reason if body else None
    return await _answer(
        platform, session, booking_id, principal, decision_token, "decline", reason
    )


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><main>"
        f"<h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def _summary(row: Any) -> str:
    zone = ZoneInfo(row.provider_timezone)
    when = row.start_at.astimezone(zone).strftime("%A %-d %B %Y, %H:%M")
    return (
        f"<p>{html.escape(row.service_name)} &middot; {html.escape(when)} "
        f"({html.escape(row.provider_timezone)})</p>"
        f"<p>{html.escape(row.customer_name)} &lt;{html.escape(row.customer_email)}&gt;</p>"
    )


async def _linked_row(session: Any, platform: Platform, booking_id: uuid.UUID, token: str) -> Any:
    async with session.begin():
        row = await queries.load_booking(session, booking_id)
    if not valid_decision_token(platform.settings.admin_token_value, booking_id, token):
        raise BookingNotFound()
    return row


@router.get(
    "/api/v1/bookings/{booking_id}/decision",
    response_class=HTMLResponse,
)
async def decision_page(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    token: Annotated[TokenText, Query(description="The signed token of the e-mail link.")],
) -> HTMLResponse:
    """The page the provider's e-mail links to: the request and two buttons (a GET never
    answers the request, so a mail scanner opening the link changes nothing)."""
    row = await _linked_row(session, platform, booking_id, token)
    status = queries.effective_status(row)
    if status != "pending":
        return _page(f"This request is {status}", _summary(row))
    action = f"/api/v1/bookings/{booking_id}/decision"
    token_field = f'<input type=hidden name=token value="{html.escape(token)}">'
    return _page(
        "Booking request",
        _summary(row) + f'<form method=post action="{action}">{token_field}'
        "<button name=answer value=confirm>Confirm</button> "
        "<button name=answer value=decline>Decline</button></form>",
    )


@router.post(
    "/api/v1/bookings/{booking_id}/decision",
    response_class=HTMLResponse,
)
async def decide_from_link(
    booking_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    token: Annotated[TokenText, Form()],
    answer: Annotated[Literal["confirm", "decline"], Form()],
) -> HTMLResponse:
    """The buttons of :func:`decision_page`: answer the request, say what happened."""
    row = await _linked_row(session, platform, booking_id, token)

    async def work() -> BookingOut:
        if answer == "confirm":
            return await decisions.confirm_request(session, booking_id, LINK_ACTOR, utc_now())
        return await decisions.decline_request(session, booking_id, LINK_ACTOR, utc_now())

    try:
        result = await provider_write(platform, session, row.provider_id, work)
        _refuse_expired(result)
    except (InvalidTransition, RequestExpired) as exc:
        problem: Problem = exc
        return _page(problem.title, f"<p>{html.escape(problem.detail)}</p>" + _summary(row))
    return _page(f"Request {result.status}", _summary(row))
