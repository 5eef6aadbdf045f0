"""Sending recorded messages (:func:`send_pending`), after the handling
transaction commits and on every sweep: a message is leased (``sending``,
``next_attempt_at`` = now + the visibility timeout), sent, then marked ``sent``; a
failure is retried with exponential backoff and jitter and, after
``CALISERA_DELIVERY_MAX_ATTEMPTS``, marked ``dead`` (counted in
``calisera_notifications_dead_total``). A worker killed mid-send leaves the lease to
expire and the periodic sweep (or the relay's re-publication) sends the message again.
So a duplicated event sends one e-mail and a crash loses none; the residual risk is a
copy when the process dies after the SMTP server accepted but before the ``sent`` mark,
and that copy carries the same ``Message-ID``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter

from calisera.core.backoff import Backoff
from calisera.core.consumers import WorkerContext
from calisera.notifications.channels import (
    DeliveryFailed,
    Email,
    PushTarget,
    email_sender,
    send_push,
    sms_gateway,
)
from calisera.notifications.manage_links import MANAGE_LINK_RETRY, MANAGE_LINK_WAIT, manage_link
from calisera.notifications.models import (
    messages,
    push_subscriptions,
)
from calisera.notifications.rendering import calendar_file, render, sender_address, sms_text
from calisera.notifications.subscriptions import vapid_key_pair

log = structlog.get_logger("calisera.notifications")


SENT = Counter(
    "calisera_notifications_sent_total", "Notifications accepted by their channel.", ["channel"]
)


FAILED = Counter(
    "calisera_notifications_failed_total", "Failed send attempts (retried).", ["channel"]
)


DEAD = Counter(
    "calisera_notifications_dead_total",
    "Notifications given up after the last attempt (dead-lettered).",
    ["channel"],
)


async def send_pending(
    ctx: WorkerContext, *, event_id: uuid.UUID | None = None, limit: int = 50
) -> int:
    """Send what is due (all, or one event's); returns how many were accepted."""
    sent = 0
    while True:
        async with ctx.sessionmaker() as session, session.begin():
            query = (
                sa.select(messages)
                .where(
                    messages.c.status.in_(("pending", "sending")),
                    messages.c.next_attempt_at <= sa.func.now(),
                )
                .order_by(messages.c.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if event_id is not None:
                query = query.where(messages.c.event_id == event_id)
            batch = (await session.execute(query)).all()
            if batch:
                await session.execute(
                    messages.update()
                    .where(messages.c.id.in_([m.id for m in batch]))
                    .values(
                        status="sending",
                        attempts=messages.c.attempts + 1,
                        next_attempt_at=sa.func.now()
                        + timedelta(seconds=ctx.settings.relay_visibility_timeout),
                    )
                )
        if not batch:
            return sent
        for message in batch:
            if await _send_one(ctx, message):
                sent += 1
        if len(batch) < limit:
            return sent


async def _send_one(ctx: WorkerContext, message: Any) -> bool:
    attempts = message.attempts + 1
    token = None
    if message.channel == "email" and message.template == "customer":
        async with ctx.sessionmaker() as session, session.begin():
            link = await manage_link(session, message.booking_id, ctx.settings.admin_token_value)
        if not link.arrived and _waits_for_manage_link(ctx, message):
            await _wait_for_manage_link(ctx, message)
            return False
        token = link.token
    try:
        await _dispatch(ctx, message, token)
    except DeliveryFailed as exc:
        dead = attempts >= ctx.settings.delivery_max_attempts
        delay = Backoff(base=ctx.settings.retry_base_seconds, jitter=0.5).delay(attempts)
        async with ctx.sessionmaker() as session, session.begin():
            await session.execute(
                messages.update()
                .where(messages.c.id == message.id)
                .values(
                    status="dead" if dead else "pending",
                    last_error=str(exc)[:2000],
                    next_attempt_at=sa.func.now() + timedelta(seconds=delay),
                )
            )
        (DEAD if dead else FAILED).labels(message.channel).inc()
        log.warning(
            "notification_failed",
            message_id=str(message.id),
            channel=message.channel,
            attempts=attempts,
            dead=dead,
            error=str(exc),
        )
        return False
    async with ctx.sessionmaker() as session, session.begin():
        await session.execute(
            messages.update()
            .where(messages.c.id == message.id)
            .values(status="sent", sent_at=sa.func.now(), last_error=None)
        )
    SENT.labels(message.channel).inc()
    return True


def _waits_for_manage_link(ctx: WorkerContext, message: Any) -> bool:
    """A reschedule or reminder whose booking's token may still arrive (out of order)."""
    return (
        ctx.settings.admin_token_value is not None  # else no booking.created carries one
        and message.payload.get("kind") in ("rescheduled", "reminder")
        and message.created_at > datetime.now(UTC) - MANAGE_LINK_WAIT
    )


async def _wait_for_manage_link(ctx: WorkerContext, message: Any) -> None:
    """Back to pending, the attempt not counted; a late token wakes it at once."""
    async with ctx.sessionmaker() as session, session.begin():
        await session.execute(
            messages.update()
            .where(messages.c.id == message.id, messages.c.status == "sending")
            .values(
                status="pending",
                attempts=message.attempts,
                next_attempt_at=sa.func.now() + MANAGE_LINK_RETRY,
            )
        )
    log.info("notification_waits_for_manage_link", message_id=str(message.id))


async def _dispatch(ctx: WorkerContext, message: Any, manage_token: str | None) -> None:
    payload: dict[str, Any] = message.payload
    public_url = ctx.settings.public_url
    if message.channel == "email":
        rendered = render(message.template, payload, public_url, manage_token)
        attendee = message.recipient if message.template == "customer" else None
        ics = calendar_file(payload, attendee)
        await email_sender(ctx.settings, ctx.sessionmaker).send(
            Email(
                message_id=f"<{message.id}@calisera>",
                sender=f"{payload.get('provider_name') or 'Calisera'} via Calisera "
                f"<{sender_address(public_url)}>",
                recipient=message.recipient,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                ics=ics[0] if ics else None,
                ics_method=ics[1] if ics else None,
            )
        )
    elif message.channel == "sms":
        await sms_gateway(ctx.settings.sms_url).send(
            message.recipient, sms_text(payload, public_url)
        )
    else:
        await _push(ctx, message)


async def _push(ctx: WorkerContext, message: Any) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        sub = (
            await session.execute(
                sa.select(push_subscriptions).where(
                    push_subscriptions.c.endpoint == message.recipient
                )
            )
        ).first()
        private_pem, _ = await vapid_key_pair(session)
    if sub is None:
        return  # unsubscribed meanwhile: nothing to deliver
    rendered = render("provider", message.payload, ctx.settings.public_url)
    status = await send_push(
        PushTarget(sub.endpoint, sub.p256dh, sub.auth),
        {"title": rendered.subject, "url": f"{ctx.settings.public_url.rstrip('/')}/console"},
        private_pem,
        f"mailto:{sender_address(ctx.settings.public_url)}",
    )
    if status in (404, 410):  # the browser dropped the subscription
        async with ctx.sessionmaker() as session, session.begin():
            await session.execute(
                push_subscriptions.delete().where(push_subscriptions.c.id == sub.id)
            )
