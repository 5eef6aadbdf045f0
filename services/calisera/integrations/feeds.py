"""The provider's private iCalendar feed: a secret URL any calendar app subscribes to.

The token is 32 random bytes shown once, in the URL; only its SHA-256 is kept, so the
database cannot give the URL away. Creating a new feed replaces (revokes) the old one;
deleting it revokes it. The feed holds the bookings of the last 90 days and every
future one, each with the UID of the e-mailed invitations (``<booking id>@calisera``)
and SEQUENCE = the booking's version; cancelled ones stay as ``STATUS:CANCELLED`` so
clients drop them. DTSTAMP is the time of the last change, so an unchanged feed is
byte-identical: its ETag is a hash of the body and Last-Modified its newest change.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from icalendar import Calendar, Event
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.ical import PRODID, booking_uid
from calisera.integrations.errors import FeedNotFound
from calisera.integrations.models import bookings, feeds, providers

PAST = timedelta(days=90)
MAX_EVENTS = 5000
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105 - the shape of a token, not one


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_feed(session: AsyncSession, provider_id: uuid.UUID) -> tuple[str, datetime]:
    """A new token for the provider's feed (the previous URL stops working)."""
    token = secrets.token_urlsafe(32)
    values = {"token_hash": token_hash(token), "created_at": sa.func.now()}
    created = (
        await session.execute(
            insert(feeds)
            .values(provider_id=provider_id, **values)
            .on_conflict_do_update(index_elements=["provider_id"], set_=values)
            .returning(feeds.c.created_at)
        )
    ).scalar_one()
    return token, created


async def feed_info(session: AsyncSession, provider_id: uuid.UUID) -> datetime | None:
    created: datetime | None = await session.scalar(
        sa.select(feeds.c.created_at).where(feeds.c.provider_id == provider_id)
    )
    return created


async def revoke_feed(session: AsyncSession, provider_id: uuid.UUID) -> None:
    result = await session.execute(
        feeds.delete().where(feeds.c.provider_id == provider_id).returning(feeds.c.provider_id)
    )
    if result.first() is None:
        raise FeedNotFound("This provider has no calendar feed.")


@dataclass(frozen=True)
class RenderedFeed:
    body: bytes
    etag: str
    last_modified: datetime


async def render_feed(session: AsyncSession, token: str) -> RenderedFeed:
    """The feed a token opens; :class:`FeedNotFound` for an unknown or revoked one."""
    feed = (
        await session.execute(
            sa.select(feeds.c.provider_id, feeds.c.created_at).where(
                feeds.c.token_hash == token_hash(token)
            )
        )
    ).first()
    if feed is None:
        raise FeedNotFound("No calendar feed has this address (revoked?).")
    name = await session.scalar(
        sa.select(providers.c.name).where(providers.c.provider_id == feed.provider_id)
    )
    rows = (
        await session.execute(
            sa.select(bookings)
            .where(
                bookings.c.provider_id == feed.provider_id,
                bookings.c.end_at > datetime.now(UTC) - PAST,
            )
            .order_by(bookings.c.start_at, bookings.c.booking_id)
            .limit(MAX_EVENTS)
        )
    ).all()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{name or 'Calisera'} bookings")
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    last_modified = feed.created_at
    for row in rows:
        data = row.data
        customer = data.get("customer") or {}
        event = Event()
        event.add("uid", booking_uid(row.booking_id))
        event.add("sequence", row.version)
        event.add("dtstamp", row.updated_at.astimezone(UTC))
        event.add("last-modified", row.updated_at.astimezone(UTC))
        event.add("dtstart", row.start_at.astimezone(UTC))
        event.add("dtend", row.end_at.astimezone(UTC))
        event.add(
            "summary", f"{data.get('service_name') or 'Booking'}: {customer.get('name') or ''}"
        )
        lines = [f"Seats: {data.get('seats', 1)}", f"Status: {row.status}"]
        if customer.get("email"):
            lines.append(f"E-mail: {customer['email']}")
        if customer.get("phone"):
            lines.append(f"Phone: {customer['phone']}")
        event.add("description", "\n".join(lines))
        event.add("status", "CANCELLED" if row.status == "cancelled" else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if row.status == "cancelled" else "OPAQUE")
        cal.add_component(event)
        last_modified = max(last_modified, row.updated_at)
    body = cal.to_ical()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return RenderedFeed(body, etag, last_modified.astimezone(UTC).replace(microsecond=0))
