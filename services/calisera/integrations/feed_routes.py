"""Routes of the private iCalendar feed: managed under the provider, served by token."""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response

from calisera.core.conditional import etag_matches
from calisera.core.dependencies import ReadSessionDep, SessionDep, SettingsDep
from calisera.core.openapi import problem_responses
from calisera.core.ownership import ExistingOwnedProviderDep
from calisera.integrations import feeds
from calisera.integrations.errors import FeedNotFound
from calisera.integrations.schemas import FeedOut

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])
ICS = "text/calendar; charset=utf-8"


@router.post("/providers/{provider_id}/feed", status_code=201, response_model=FeedOut)
async def create_feed(
    provider: ExistingOwnedProviderDep, session: SessionDep, settings: SettingsDep
) -> FeedOut:
    """A new private feed URL (shown only here); an earlier URL stops working."""
    async with session.begin():
        token, created = await feeds.create_feed(session, provider.id)
    base = settings.public_url.rstrip("/")
    return FeedOut(
        active=True, created_at=created, url=f"{base}/api/v1/integrations/feeds/{token}.ics"
    )


@router.get("/providers/{provider_id}/feed", response_model=FeedOut)
async def get_feed(provider: ExistingOwnedProviderDep, session: SessionDep) -> FeedOut:
    """Whether a feed exists (its URL cannot be shown again: make a new one if lost)."""
    async with session.begin():
        created = await feeds.feed_info(session, provider.id)
    return FeedOut(active=created is not None, created_at=created)


@router.delete(
    "/providers/{provider_id}/feed", status_code=204, responses=problem_responses(FeedNotFound)
)
async def revoke_feed(provider: ExistingOwnedProviderDep, session: SessionDep) -> Response:
    """Revoke the feed: its URL answers 404 from now on."""
    async with session.begin():
        await feeds.revoke_feed(session, provider.id)
    return Response(status_code=204)


@router.get(
    "/feeds/{token}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The feed (RFC 5545)."},
        304: {"description": "Unchanged since the ETag or date the client sent."},
        **problem_responses(FeedNotFound),
    },
)
async def serve_feed(
    request: Request,
    session: ReadSessionDep,
    token: Annotated[str, Path(pattern=feeds.TOKEN_PATTERN, description="The feed's secret.")],
    if_none_match: Annotated[str | None, Header(max_length=500)] = None,
    if_modified_since: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    """The provider's bookings as iCalendar, for calendar apps to subscribe to; no other
    credential than the URL. Conditional GET with ``If-None-Match``/``If-Modified-Since``."""
    async with session.begin():
        feed = await feeds.render_feed(session, token)
    headers = {
        "ETag": feed.etag,
        "Last-Modified": format_datetime(feed.last_modified, usegmt=True),
        "Cache-Control": "private, max-age=300",
        "Referrer-Policy": "no-referrer",
    }
    if if_none_match is not None:
        if etag_matches(if_none_match, feed.etag):
            return Response(status_code=304, headers=headers)
    elif if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            since = None
        if since is not None and since.tzinfo is not None and feed.last_modified <= since:
            return Response(status_code=304, headers=headers)
    return Response(feed.body, media_type=ICS, headers=headers)
