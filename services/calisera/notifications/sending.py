"""Sending recorded messages (:func:`send_pending`), after the handling
transaction commits and on every sweep: a message is leased (``sending``,
``next_attempt_at`` = now + the visibility timeout), sent, then marked ``sent``; a
failure is retried with exponential backoff and jitter and, after
``CALISERA_DELIVERY_MAX_ATTEMPTS``, marked ``dead`` (counted in
``calisera_notifications_dead_total``). A worker killed mid-send leaves the lease to
expire and the periodic sweep (or the relay's re-publication) sends the message again.

The send ledger closes the duplicate window of SMTP: once the server accepted the
envelope, ``handed_over_at`` is committed and only then is the content transmitted. A
message found leased and handed over after its lease (its worker died during or after
the DATA transaction, before the ``sent`` mark) may or may not have reached the server;
it is marked ``uncertain`` and never sent again: at-most-once for that window,
at-least-once (retried) for everything before it (docs/delivery.md).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError

from calisera.bookings.client import decision_token
from calisera.core.backoff import Backoff
from calisera.core.consumers import WorkerContext
from calisera.core.faults import fault_point
from calisera.notifications import waitlist_offers
from calisera.notifications.channels import (
    DeliveryFailed,
    DeliveryUncertain,
    Email,
    HandOver,
    PushTarget,
    email_sender,
    send_push,
    sms_gateway,
)
from calisera.notifications.manage_links import MANAGE_LINK_RETRY, MANAGE_LINK_WAIT, unseal_link
from calisera.notifications.models import (
    manage_tokens,
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
for _channel in ("email", "sms", "push"):  # every series exists before its first send
    SENT.labels(_channel), FAILED.labels(_channel), DEAD.labels(_channel)


UNCERTAIN = Counter(
    "calisera_notifications_uncertain_total",
    "Notifications handed to the SMTP server without a recorded answer (not re-sent).",
    ["channel"],
)

UNCERTAIN_ERROR = "handed over to the SMTP server, no answer recorded: not sent again"


class LeaseLost(Exception):
    """Another worker took the message over (this one's lease expired): leave it alone."""


async def send_pending(
    ctx: WorkerContext, *, event_id: uuid.UUID | None = None, limit: int = 50
) -> int:
    """Send what is due (all, or one event's); returns how many were accepted.

    A batch costs one claiming statement (which brings its customers' manage links),
    one ledger commit per e-mail and one ``sent`` mark for all that were accepted."""
    sent = 0
    if event_id is None:
        await _settle_handed_over(ctx)
    while True:
        async with ctx.sessionmaker() as session, session.begin():
            batch = (await session.execute(*_claim(ctx, event_id, limit))).all()
        if not batch:
            return sent
        accepted: list[Any] = []
        try:
            for message in sorted(batch, key=lambda m: m.created_at):
                if await _send_one(ctx, message):
                    accepted.append(message)
        finally:
            if accepted:
                await _mark_sent(ctx, [m.id for m in accepted])
                for message in accepted:
                    SENT.labels(message.channel).inc()
        sent += len(accepted)
        if len(batch) < limit:
            return sent


def _claim(
    ctx: WorkerContext, event_id: uuid.UUID | None, limit: int
) -> tuple[sa.Update, dict[str, Any]]:
    """Lease up to ``limit`` due messages (their ``attempts`` counted), returning them
    with their booking's manage token: was it seen, and sealed as it came."""
    params = {"limit": limit, "lease_for": _lease(ctx)}
    if event_id is None:
        return _claim_statement(False), params
    return _claim_statement(True), {**params, "of_event": event_id}


@functools.cache
def _claim_statement(of_one_event: bool) -> sa.Update:
    """Built once per variant (it runs after every event)."""
    due = (
        sa.select(messages.c.id)
        .where(
            messages.c.status.in_(("pending", "sending")),
            messages.c.handed_over_at.is_(None),
            messages.c.next_attempt_at <= sa.func.now(),
        )
        .order_by(messages.c.next_attempt_at)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .with_for_update(skip_locked=True)
    )
    if of_one_event:
        due = due.where(messages.c.event_id == sa.bindparam("of_event"))
    leased = due.subquery("due")
    of_booking = manage_tokens.c.booking_id == messages.c.booking_id
    return (
        messages.update()
        .where(messages.c.id == leased.c.id)
        .values(
            status="sending",
            attempts=messages.c.attempts + 1,
            next_attempt_at=sa.func.now() + sa.bindparam("lease_for", type_=sa.Interval),
        )
        .returning(
            *messages.c,
            sa.exists().where(of_booking).label("token_arrived"),
            sa.select(manage_tokens.c.sealed).where(of_booking).scalar_subquery().label("sealed"),
        )
    )


def _needs_manage_link(message: Any) -> bool:
    return bool(message.channel == "email" and message.template == "customer")


async def _send_one(ctx: WorkerContext, message: Any) -> bool:
    """Send one leased message; True when its channel accepted it (marked by the caller)."""
    attempts = message.attempts  # this attempt, counted by the claim
    token = None
    if _needs_manage_link(message):
        link = unseal_link(
            message.booking_id,
            message.token_arrived,
            message.sealed,
            ctx.settings.admin_token_value,
        )
        if not link.arrived and _waits_for_manage_link(ctx, message):
            await _wait_for_manage_link(ctx, message)
            return False
        token = link.token
    try:
        await _dispatch(ctx, message, token, _hand_over(ctx, message.id, attempts))
    except LeaseLost:
        log.info("notification_lease_lost", message_id=str(message.id))
        return False
    except DeliveryUncertain as exc:
        await _mark_uncertain(ctx, message, str(exc))
        return False
    except DeliveryFailed as exc:
        dead = attempts >= ctx.settings.delivery_max_attempts
        delay = Backoff(base=ctx.settings.retry_base_seconds, jitter=0.5).delay(attempts)
        async with ctx.sessionmaker() as session, session.begin():
            await session.execute(
                messages.update()
                .where(_held(message.id, attempts))
                .values(
                    status="dead" if dead else "pending",
                    last_error=str(exc)[:2000],
                    next_attempt_at=sa.func.now() + timedelta(seconds=delay),
                    handed_over_at=None,
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
    fault_point("notifications.after_smtp_accept")  # the window the ledger closes
    return True


def _lease(ctx: WorkerContext) -> timedelta:
    return timedelta(seconds=ctx.settings.relay_visibility_timeout)


def _held(message_id: uuid.UUID, attempts: int) -> sa.ColumnElement[bool]:
    """Still this worker's lease: its claim (``attempts``) is the row's latest."""
    return sa.and_(
        messages.c.id == message_id,
        messages.c.status == "sending",
        messages.c.attempts == attempts,
    )


_HAND_OVER = (
    messages.update()
    .where(
        messages.c.id == sa.bindparam("message"),
        messages.c.status == "sending",
        messages.c.attempts == sa.bindparam("claim"),
        messages.c.handed_over_at.is_(None),
    )
    .values(
        handed_over_at=sa.func.now(),
        next_attempt_at=sa.func.now() + sa.bindparam("lease_for", type_=sa.Interval),
    )
)
"""Built once (it runs for every e-mail): the ledger's commit, only under this lease."""


def _hand_over(ctx: WorkerContext, message_id: uuid.UUID, attempts: int) -> HandOver:
    """The ledger commit between the accepted envelope and the content."""

    async def hand_over() -> None:
        try:
            async with ctx.sessionmaker() as session, session.begin():
                result = await session.execute(
                    _HAND_OVER,
                    {"message": message_id, "claim": attempts, "lease_for": _lease(ctx)},
                )
        except (SQLAlchemyError, OSError) as exc:  # nothing transmitted yet: retry later
            raise DeliveryFailed(f"send ledger unavailable: {exc}") from exc
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(str(message_id))

    return hand_over


_MARK_SENT = (
    messages.update()
    .where(messages.c.id.in_(sa.bindparam("accepted", expanding=True)))
    .values(status="sent", sent_at=sa.func.now(), last_error=None)
)


async def _mark_sent(ctx: WorkerContext, message_ids: list[uuid.UUID]) -> None:
    """Record the accepted sends, waiting out a database restart: until it is recorded
    a message stays handed over, so giving up leaves it ``uncertain``, never re-sent."""
    backoff = Backoff(base=0.2, cap=5.0, jitter=0.5)
    for attempt in range(1, 13):
        try:
            async with ctx.sessionmaker() as session, session.begin():
                await session.execute(_MARK_SENT, {"accepted": message_ids})
            return
        except (SQLAlchemyError, OSError) as exc:
            log.warning(
                "notification_sent_mark_retry",
                message_ids=[str(m) for m in message_ids],
                error=str(exc),
            )
            if attempt == 12:
                raise
            await asyncio.sleep(backoff.delay(attempt))


async def _mark_uncertain(ctx: WorkerContext, message: Any, error: str) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await session.execute(
            messages.update()
            .where(messages.c.id == message.id, messages.c.status == "sending")
            .values(status="uncertain", last_error=error[:2000])
        )
    UNCERTAIN.labels(message.channel).inc()
    log.warning("notification_uncertain", message_id=str(message.id), error=error)


async def _settle_handed_over(ctx: WorkerContext) -> None:
    """Messages whose worker died after the hand-over: ``uncertain``, not re-sent."""
    async with ctx.sessionmaker() as session, session.begin():
        rows = (
            await session.execute(
                messages.update()
                .where(
                    messages.c.status == "sending",
                    messages.c.handed_over_at.is_not(None),
                    messages.c.next_attempt_at <= sa.func.now(),
                )
                .values(status="uncertain", last_error=UNCERTAIN_ERROR)
                .returning(messages.c.id, messages.c.channel)
            )
        ).all()
    for row in rows:
        UNCERTAIN.labels(row.channel).inc()
        log.warning("notification_uncertain", message_id=str(row.id), error=UNCERTAIN_ERROR)


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
                attempts=message.attempts - 1,  # not counted
                next_attempt_at=sa.func.now() + MANAGE_LINK_RETRY,
            )
        )
    log.info("notification_waits_for_manage_link", message_id=str(message.id))


async def _dispatch(
    ctx: WorkerContext, message: Any, manage_token: str | None, hand_over: HandOver
) -> None:
    payload: dict[str, Any] = message.payload
    public_url = ctx.settings.public_url
    if message.channel == "email":
        decision = None
        secret = ctx.settings.admin_token_value
        if message.template == "provider" and payload.get("kind") == "requested" and secret:
            decision = decision_token(secret, uuid.UUID(str(payload["booking_id"])))
        claim = None
        if message.template == waitlist_offers.TEMPLATE:
            claim = waitlist_offers.claim_url(payload, public_url, secret)
        rendered = render(message.template, payload, public_url, manage_token, decision, claim)
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
            ),
            hand_over,
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
    console = f"{ctx.settings.public_url.rstrip('/')}/console"
    booking_id = message.payload.get("booking_id")
    status = await send_push(
        PushTarget(sub.endpoint, sub.p256dh, sub.auth),
        # the console's service worker opens /console/bookings/{booking_id} on a tap
        {
            "title": rendered.subject,
            "booking_id": str(booking_id) if booking_id else None,
            "url": f"{console}/bookings/{booking_id}" if booking_id else console,
        },
        private_pem,
        f"mailto:{sender_address(ctx.settings.public_url)}",
    )
    if status in (404, 410):  # the browser dropped the subscription
        async with ctx.sessionmaker() as session, session.begin():
            await session.execute(
                push_subscriptions.delete().where(push_subscriptions.c.id == sub.id)
            )
