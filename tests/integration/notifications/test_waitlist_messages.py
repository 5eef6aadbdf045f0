"""The waitlist offer e-mail: to the customer first in line, with the claim link (the
entry's token unsealed only to render it) and the deadline; once per event, however
often the event is delivered. Real consumer, real PostgreSQL, real SMTP server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from calisera.bookings.events import (
    WAITLIST_CLAIMED,
    WAITLIST_EXPIRED,
    WAITLIST_JOINED,
    WAITLIST_LEFT,
    WAITLIST_OFFERED,
    WaitlistData,
)
from calisera.core.events import new_event
from calisera.core.sealing import WAITLIST_TOKEN_PURPOSE, seal
from tests.conftest import ADMIN_TOKEN
from tests.integration.notifications.test_messages import handle, worker  # noqa: F401
from tests.integration.pipeline.conftest import query


def _offer(event_type=WAITLIST_OFFERED, token: str = "the-entry-token"):
    start = datetime(2027, 3, 29, 16, 0, tzinfo=UTC)
    entry_id, provider_id = uuid.uuid4(), uuid.uuid4()
    data = WaitlistData(
        entry_id=entry_id,
        service_id=uuid.uuid4(),
        service_name="Evening yoga",
        provider_id=provider_id,
        provider_name="Studio Aurora",
        provider_timezone="Europe/Berlin",
        provider_slug="studio-aurora",
        start=start,
        end=start + timedelta(hours=1),
        seats=2,
        status="offered",
        customer={"name": "Ana Lima", "email": "ana@example.test", "timezone": "America/Sao_Paulo"},
        created_at=start - timedelta(days=3),
        offer_expires_at=start - timedelta(hours=5),
        claim_token_sealed=seal(ADMIN_TOKEN, WAITLIST_TOKEN_PURPOSE, token),
    )
    return new_event(
        event_type,
        source="bookings",
        aggregate_id=entry_id,
        aggregate_version=2,
        provider_id=provider_id,
        data=data,
    )


async def test_the_offer_mails_the_claim_link_and_deadline_once(worker, database_url):  # noqa: F811
    ctx, mailbox = worker
    event = _offer()
    await handle(ctx, event)
    await handle(ctx, event)  # redelivered: nothing more
    [mail] = mailbox.to("ana@example.test")
    assert str(mail["Subject"]).strip() == (
        "A place for you: Evening yoga with Studio Aurora, Monday 29 March 2027, 13:00"
    )
    text = mail.get_body(("plain",)).get_content()
    assert "2 seats are kept for you until Monday 29 March 2027, 08:00" in text
    [link] = [w for w in text.split() if "/waitlist/" in w]
    parts = urlsplit(link)
    assert parts.path == f"/p/studio-aurora/waitlist/{event.aggregate_id}"
    assert parse_qs(parts.query)["token"] == ["the-entry-token"]
    assert not [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    # the stored message keeps the token sealed only
    payloads = query(database_url, "SELECT payload::text FROM notifications.messages")
    assert len(payloads) == 1 and "the-entry-token" not in payloads[0][0]


async def test_joining_mails_the_place_in_line_and_the_link_to_leave(worker):  # noqa: F811
    ctx, mailbox = worker
    joined = _offer(WAITLIST_JOINED)
    joined = joined.model_copy(
        update={"data": {**joined.data, "status": "waiting", "position": 3,
                         "offer_expires_at": None}}
    )  # fmt: skip
    await handle(ctx, joined)
    [mail] = mailbox.to("ana@example.test")
    assert str(mail["Subject"]).strip().startswith("On the waitlist: Evening yoga")
    text = mail.get_body(("plain",)).get_content()
    assert "number 3 in line" in text
    [link] = [w for w in text.split() if "/waitlist/" in w]
    assert parse_qs(urlsplit(link).query)["token"] == ["the-entry-token"]


async def test_an_expired_offer_says_the_place_went_to_the_next(worker):  # noqa: F811
    ctx, mailbox = worker
    expired = _offer(WAITLIST_EXPIRED)
    expired = expired.model_copy(
        update={"data": {**expired.data, "status": "expired", "claim_token_sealed": None}}
    )
    await handle(ctx, expired)
    [mail] = mailbox.to("ana@example.test")
    assert str(mail["Subject"]).strip().startswith("Your held place has gone")
    text = mail.get_body(("plain",)).get_content()
    assert "has gone to the next person waiting" in text
    assert "https://book.example.test/p/studio-aurora" in text
    assert "token=" not in text


async def test_leaving_and_claiming_mail_nothing(worker):  # noqa: F811
    ctx, mailbox = worker
    for event_type in (WAITLIST_LEFT, WAITLIST_CLAIMED):
        await handle(ctx, _offer(event_type))
    assert mailbox.to("ana@example.test") == []
