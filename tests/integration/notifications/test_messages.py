"""What the notifications consumer sends, through the real consumer, real PostgreSQL, a
real SMTP server, a real HTTP SMS gateway and a real HTTP push endpoint."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client import REGISTRY

from calisera.core.consumers import WorkerContext, deliver
from calisera.core.database import Database
from calisera.core.sealing import MANAGE_TOKEN_PURPOSE, seal
from calisera.notifications import reminders, sending, subscriptions
from calisera.notifications.consumers import consumer
from tests.integration.pipeline.conftest import booking_event, provider_created, query


@pytest.fixture
async def worker(settings, smtp) -> AsyncIterator[tuple[WorkerContext, Any]]:
    mailbox, smtp_url = smtp
    configured = settings.with_changes(
        smtp_url=smtp_url, retry_base_seconds=0.01, delivery_max_attempts=3
    )
    db = Database(configured.database_url, pool_size=2)
    try:
        yield WorkerContext(settings=configured, sessionmaker=db.sessionmaker), mailbox
    finally:
        await db.dispose()


async def handle(ctx: WorkerContext, event) -> bool:
    """What a worker does with one message: deliver, then send what it queued."""
    c = consumer(ctx.settings)
    handled = await deliver(c, ctx.sessionmaker, event)
    assert c.after_commit is not None
    await c.after_commit(ctx, event)
    return bool(handled)


def _ics(mail) -> str:
    [part] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    return part.get_payload(decode=True).decode()


async def test_reschedule_updates_and_cancel_cancels_the_same_calendar_entry(worker):
    ctx, mailbox = worker
    booking_id = uuid.uuid4()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    await handle(ctx, booking_event(booking_id=booking_id, version=1, start=start))
    moved = booking_event(
        "booking.rescheduled",
        booking_id=booking_id,
        version=2,
        start=start + timedelta(hours=3),
        extra={"previous_start": start.isoformat()},
    )
    await handle(ctx, moved)
    await handle(ctx, booking_event("booking.cancelled", booking_id=booking_id, version=3))

    created, rescheduled, cancelled = mailbox.to("ana@example.test")
    uid = f"UID:{booking_id}@calisera"
    assert uid in _ics(created) and "METHOD:REQUEST" in _ics(created)
    assert uid in _ics(rescheduled) and "SEQUENCE:2" in _ics(rescheduled)
    assert "METHOD:REQUEST" in _ics(rescheduled)
    assert "Was:" in rescheduled.get_body(("plain",)).get_content()
    assert uid in _ics(cancelled) and "METHOD:CANCEL" in _ics(cancelled)
    assert "STATUS:CANCELLED" in _ics(cancelled)


async def test_duplicate_event_is_one_message(worker):
    ctx, mailbox = worker
    event = booking_event(email="once@example.test")
    assert await handle(ctx, event) is True
    assert await handle(ctx, event) is False
    await sending.send_pending(ctx)
    assert len(mailbox.to("once@example.test")) == 1


async def test_manage_token_in_event_data_is_never_stored(worker, database_url):
    ctx, mailbox = worker
    event = booking_event(extra={"manage_token": "secret-one-time-token"})
    await handle(ctx, event)
    rows = query(database_url, "SELECT payload::text FROM notifications.messages")
    assert rows and all("secret-one-time-token" not in r[0] for r in rows)
    [mail] = mailbox.to("ana@example.test")
    decoded = [part.get_content() for part in mail.walk() if not part.is_multipart()]
    assert decoded and all("secret-one-time-token" not in str(text) for text in decoded)


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_smtp_down_is_retried_with_backoff_then_dead_lettered(worker, database_url):
    ctx, mailbox = worker
    mailbox.refuse = True
    dead_before = _sample("calisera_notifications_dead_total", {"channel": "email"})
    event = booking_event(email="down@example.test")
    await handle(ctx, event)  # first attempt fails
    waits = []
    for _ in range(10):
        [(status, attempts, due)] = query(
            database_url,
            "SELECT status, attempts, next_attempt_at - now() FROM notifications.messages "
            "WHERE event_id = %s",
            event.id,
        )
        if status == "dead":
            break
        waits.append(due.total_seconds())
        await sending.send_pending(ctx)
        while query(
            database_url,
            "SELECT 1 FROM notifications.messages WHERE event_id = %s AND status = 'pending' "
            "AND next_attempt_at > now()",
            event.id,
        ):
            pass  # backoff is a few milliseconds here
    assert (status, attempts) == ("dead", 3)
    [(error,)] = query(
        database_url, "SELECT last_error FROM notifications.messages WHERE event_id = %s", event.id
    )
    assert "451" in error
    assert _sample("calisera_notifications_dead_total", {"channel": "email"}) == dead_before + 1
    mailbox.refuse = False
    await sending.send_pending(ctx)
    assert mailbox.to("down@example.test") == []  # dead stays dead


async def test_reminders_follow_reschedules_and_cancellations(worker, database_url):
    ctx, mailbox = worker
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
    kept, cancelled = uuid.uuid4(), uuid.uuid4()
    await handle(ctx, booking_event(booking_id=kept, start=start, email="kept@example.test"))
    later = start + timedelta(days=2)
    await handle(
        ctx,
        booking_event(
            "booking.rescheduled",
            booking_id=kept,
            version=2,
            start=later,
            email="kept@example.test",
        ),
    )
    await handle(ctx, booking_event(booking_id=cancelled, start=start, email="gone@example.test"))
    await handle(
        ctx,
        booking_event(
            "booking.cancelled",
            booking_id=cancelled,
            version=2,
            start=start,
            email="gone@example.test",
        ),
    )

    async def sweep(at: datetime) -> None:
        async with ctx.sessionmaker() as session, session.begin():
            await reminders.sweep_reminders(session, now=at)
        await sending.send_pending(ctx)

    def reminders_to(address: str) -> list[Any]:
        return [m for m in mailbox.to(address) if str(m["Subject"]).strip().startswith("Reminder")]

    await sweep(start)  # the original time: nothing, the booking moved
    assert reminders_to("kept@example.test") == []
    assert reminders_to("gone@example.test") == []
    await sweep(later - timedelta(hours=24))
    [day_before] = reminders_to("kept@example.test")
    assert "tomorrow" in day_before.get_body(("plain",)).get_content()
    await sweep(later - timedelta(hours=1))
    await sweep(later - timedelta(hours=1))  # a second sweep sends nothing twice
    assert len(reminders_to("kept@example.test")) == 2
    assert reminders_to("gone@example.test") == []


async def test_late_older_event_does_not_resurrect_a_cancelled_booking(worker):
    ctx, mailbox = worker
    booking_id = uuid.uuid4()
    await handle(ctx, booking_event("booking.cancelled", booking_id=booking_id, version=2))
    await handle(ctx, booking_event(booking_id=booking_id, version=1))  # arrives late
    subjects = [str(m["Subject"]).strip() for m in mailbox.to("ana@example.test")]
    assert len(subjects) == 1 and subjects[0].startswith("Booking cancelled")


async def test_provider_is_emailed_at_the_owner_address_from_provider_events(worker):
    ctx, mailbox = worker
    provider_id = uuid.uuid4()
    await handle(
        ctx,
        provider_created(provider_id, slug="studio-aurora"),
    )
    event = booking_event(provider_id=provider_id)
    await handle(ctx, event)
    [notice] = mailbox.to("owner@example.com")
    assert str(notice["Subject"]).strip().startswith("New booking: Ana Lima")
    assert "(Europe/Berlin)" in notice.get_body(("plain",)).get_content()
    [customer] = mailbox.to("ana@example.test")
    link = f"https://book.example.test/p/studio-aurora/manage/{event.data['booking_id']}"
    assert link in customer.get_body(("plain",)).get_content()


class _Recorder(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]]
    status = 201

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(  # type: ignore[attr-defined]
            {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
        )
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_peer():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []  # type: ignore[attr-defined]
    server.status = 201  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_sms_goes_through_a_twilio_compatible_gateway(worker, http_peer):
    ctx, _ = worker
    port = http_peer.server_address[1]
    sms_url = f"http://AC123:s3cret@127.0.0.1:{port}/2010-04-01/Accounts/AC123?from=%2B15550001111"
    ctx = WorkerContext(
        settings=ctx.settings.with_changes(sms_url=sms_url), sessionmaker=ctx.sessionmaker
    )
    await handle(ctx, booking_event(phone="+5511987654321"))
    [request] = http_peer.requests
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert (
        request["headers"]["authorization"] == "Basic " + base64.b64encode(b"AC123:s3cret").decode()
    )
    form = parse_qs(request["body"].decode())
    assert form["To"] == ["+5511987654321"] and form["From"] == ["+15550001111"]
    assert form["Body"][0].startswith("Booking confirmed")


async def test_provider_devices_get_an_encrypted_web_push(worker, http_peer, database_url):
    ctx, _ = worker
    provider_id = uuid.uuid4()
    browser = ec.generate_private_key(ec.SECP256R1())
    p256dh = (
        base64.urlsafe_b64encode(
            browser.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )
        .decode()
        .rstrip("=")
    )
    auth = base64.urlsafe_b64encode(b"0123456789abcdef").decode().rstrip("=")
    endpoint = f"http://127.0.0.1:{http_peer.server_address[1]}/push/device-1"
    async with ctx.sessionmaker() as session, session.begin():
        await subscriptions.subscribe(session, provider_id, endpoint, p256dh, auth)
    booking_id = uuid.uuid4()
    await handle(ctx, booking_event(provider_id=provider_id, booking_id=booking_id))
    [request] = http_peer.requests
    assert request["path"] == "/push/device-1"
    assert request["headers"].get("content-encoding") == "aes128gcm", request["headers"]
    assert request["headers"]["authorization"].startswith("vapid t=")
    assert len(request["body"]) > 0
    clear = http_ece.decrypt(
        request["body"],
        private_key=browser,
        auth_secret=b"0123456789abcdef",
        version="aes128gcm",
    )
    sent = json.loads(clear)
    assert sent["booking_id"] == str(booking_id)  # a tap opens that booking in the console
    assert sent["url"].endswith(f"/console/bookings/{booking_id}") and sent["title"]
    [(status,)] = query(
        database_url, "SELECT status FROM notifications.messages WHERE channel = 'push'"
    )
    assert status == "sent"


async def _worker_without_smtp(settings, **changes) -> tuple[WorkerContext, Database]:
    configured = settings.with_changes(smtp_url=None, **changes)
    db = Database(configured.database_url, pool_size=2)
    return WorkerContext(settings=configured, sessionmaker=db.sessionmaker), db


async def test_with_email_off_no_email_is_planned_and_nothing_is_stored(settings, database_url):
    ctx, db = await _worker_without_smtp(settings, dev_mailbox=False)
    try:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
        event = booking_event(start=start, phone="+5511987654321")
        await handle(ctx, event)
        async with ctx.sessionmaker() as session, session.begin():
            await reminders.sweep_reminders(session, now=start, email=False)
        await sending.send_pending(ctx)
    finally:
        await db.dispose()
    assert query(database_url, "SELECT count(*) FROM notifications.dev_mailbox") == [(0,)]
    channels = query(database_url, "SELECT DISTINCT channel FROM notifications.messages")
    assert channels == [("sms",)]  # the SMS still goes out; no e-mail exists anywhere


async def test_up_keeps_email_in_the_dev_mailbox(settings, database_url):
    from calisera.processes.up import local_settings

    up_settings = local_settings(settings)
    assert up_settings.dev_mailbox is True
    ctx, db = await _worker_without_smtp(up_settings)
    try:
        await handle(ctx, booking_event(email="kept@example.test"))
    finally:
        await db.dispose()
    rows = query(database_url, "SELECT recipient FROM notifications.dev_mailbox")
    assert ("kept@example.test",) in rows


def _sealed(ctx: WorkerContext, token: str) -> dict[str, str]:
    secret = ctx.settings.admin_token_value
    assert secret
    return {"manage_token_sealed": seal(secret, MANAGE_TOKEN_PURPOSE, token)}


def _manage_link(mail, booking_id: uuid.UUID, token: str) -> str:
    link = f"https://book.example.test/p/studio-aurora/manage/{booking_id}?token={token}"
    return link if link in mail.get_body(("plain",)).get_content() else ""


async def test_every_customer_email_carries_the_manage_link_in_order(worker, database_url):
    ctx, mailbox = worker
    booking_id, token = uuid.uuid4(), "tok-in-order-0123456789"
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
    slug = {"provider_slug": "studio-aurora"}
    created = booking_event(booking_id=booking_id, start=start, extra=_sealed(ctx, token) | slug)
    await handle(ctx, created)
    moved = start + timedelta(hours=2)
    await handle(
        ctx,
        booking_event(
            "booking.rescheduled", booking_id=booking_id, version=2, start=moved, extra=slug
        ),
    )
    async with ctx.sessionmaker() as session, session.begin():
        await reminders.sweep_reminders(session, now=moved - timedelta(hours=1))
    await sending.send_pending(ctx)
    mails = mailbox.to("ana@example.test")
    assert len(mails) == 4  # confirmation, reschedule, the 24-hour and 1-hour reminders
    assert all(_manage_link(m, booking_id, token) for m in mails)
    stored = query(database_url, "SELECT sealed FROM notifications.manage_tokens")
    assert stored and token not in stored[0][0]  # sealed at rest
    payloads = query(database_url, "SELECT payload::text FROM notifications.messages")
    assert all("manage_token_sealed" not in p for (p,) in payloads)


async def test_a_late_booking_created_still_gives_later_emails_the_manage_link(worker):
    ctx, mailbox = worker
    booking_id, token = uuid.uuid4(), "tok-late-created-0123456789"
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=30)
    slug = {"provider_slug": "studio-aurora"}
    moved = start + timedelta(hours=2)
    await handle(
        ctx,
        booking_event(
            "booking.rescheduled", booking_id=booking_id, version=2, start=moved, extra=slug
        ),
    )
    assert mailbox.to("ana@example.test") == []  # waits for the token that is on its way
    late = booking_event(booking_id=booking_id, start=start, extra=_sealed(ctx, token) | slug)
    await handle(ctx, late)  # stale: no confirmation, but its token is kept
    await sending.send_pending(ctx)
    [rescheduled] = mailbox.to("ana@example.test")
    assert str(rescheduled["Subject"]).strip().startswith("Booking moved")
    assert _manage_link(rescheduled, booking_id, token)
    async with ctx.sessionmaker() as session, session.begin():
        await reminders.sweep_reminders(session, now=moved - timedelta(hours=1))
    await sending.send_pending(ctx)
    _, *reminder_mails = mailbox.to("ana@example.test")
    assert len(reminder_mails) == 2
    for reminder in reminder_mails:
        assert str(reminder["Subject"]).strip().startswith("Reminder")
        assert _manage_link(reminder, booking_id, token)


async def test_a_token_that_never_comes_delays_the_email_only_for_a_while(worker, database_url):
    ctx, mailbox = worker
    booking_id = uuid.uuid4()
    event = booking_event("booking.rescheduled", booking_id=booking_id, version=2)
    await handle(ctx, event)
    assert mailbox.to("ana@example.test") == []
    query(
        database_url,
        "UPDATE notifications.messages SET created_at = now() - interval '3 minutes', "
        "next_attempt_at = now() WHERE event_id = %s",
        event.id,
    )
    await sending.send_pending(ctx)
    [mail] = mailbox.to("ana@example.test")
    assert f"/manage/{booking_id}?token=" not in mail.get_body(("plain",)).get_content()
    [(attempts,)] = query(
        database_url, "SELECT attempts FROM notifications.messages WHERE event_id = %s", event.id
    )
    assert attempts == 1  # the waiting did not count as failed attempts


async def test_a_late_booking_created_after_a_cancel_still_records_its_token(worker, database_url):
    ctx, _ = worker
    booking_id = uuid.uuid4()
    await handle(ctx, booking_event("booking.cancelled", booking_id=booking_id, version=2))
    await handle(ctx, booking_event(booking_id=booking_id, extra=_sealed(ctx, "tok-x" * 5)))
    rows = query(
        database_url,
        "SELECT count(*) FROM notifications.manage_tokens WHERE booking_id = %s",
        booking_id,
    )
    assert rows == [(1,)]
