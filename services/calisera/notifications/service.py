"""The notifications domain: from events to messages, and messages to the world.

Handling an event only *records* what must be sent (``messages`` rows, each unique by
(event id, channel, recipient)) and schedules reminders, in the consumer's transaction.
Sending happens afterwards (:func:`send_pending`): a message is leased (``sending``,
``next_attempt_at`` = now + the visibility timeout), sent, then marked ``sent``; a
failure is retried with exponential backoff and jitter and, after
``CALISERA_DELIVERY_MAX_ATTEMPTS``, marked ``dead`` (counted in
``calisera_notifications_dead_total``). A worker killed mid-send leaves the lease to
expire and the periodic sweep (or the relay's re-publication) sends the message again.
So a duplicated event sends one e-mail and a crash loses none; the residual risk is a
copy when the process dies after the SMTP server accepted but before the ``sent`` mark,
and that copy carries the same ``Message-ID``.

Reminders are rows keyed by (booking, booking version, offset); ``booking_state`` keeps
the newest version and status seen per booking, and the sweep sends a reminder only
when its version is still the booking's current one and the booking is not cancelled.

The manage token is never stored: e-mails link to the booking's manage page; the token
itself is only in the booking response the customer received.
"""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.core.consumers import WorkerContext
from calisera.core.events import EventEnvelope
from calisera.core.ical import booking_ics
from calisera.core.sealing import MANAGE_TOKEN_PURPOSE, unseal
from calisera.notifications.channels import (
    DeliveryFailed,
    DevMailbox,
    Email,
    EmailSender,
    PushTarget,
    SmtpSender,
    new_vapid_keys,
    send_push,
    sms_gateway,
)
from calisera.notifications.models import (
    booking_state,
    messages,
    provider_settings,
    providers,
    push_subscriptions,
    reminders,
    vapid_keys,
)

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

DEFAULT_REMINDER_OFFSETS = (24 * 60, 60)
BOOKING_KINDS = {
    "booking.created": "created",
    "booking.rescheduled": "rescheduled",
    "booking.cancelled": "cancelled",
}
SECRET_KEYS = frozenset({"manage_token", "token"})
REMINDER_NAMESPACE = uuid.UUID("6f1c2f63-5c0e-4d1c-9a57-7c1f0b0c0a11")

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    keep_trailing_newline=True,
)


def templates() -> jinja2.Environment:
    return _templates


# --- settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderSettings:
    reminder_offsets: tuple[int, ...] = DEFAULT_REMINDER_OFFSETS
    email_provider: bool = True
    push_provider: bool = True
    sms_customer: bool = True


async def get_settings(session: AsyncSession, provider_id: uuid.UUID) -> ProviderSettings:
    row = (
        await session.execute(
            sa.select(provider_settings).where(provider_settings.c.provider_id == provider_id)
        )
    ).first()
    if row is None:
        return ProviderSettings()
    return ProviderSettings(
        reminder_offsets=tuple(row.reminder_offsets),
        email_provider=row.email_provider,
        push_provider=row.push_provider,
        sms_customer=row.sms_customer,
    )


async def put_settings(
    session: AsyncSession, provider_id: uuid.UUID, value: ProviderSettings
) -> ProviderSettings:
    values = {
        "reminder_offsets": sorted(set(value.reminder_offsets), reverse=True),
        "email_provider": value.email_provider,
        "push_provider": value.push_provider,
        "sms_customer": value.sms_customer,
    }
    await session.execute(
        insert(provider_settings)
        .values(provider_id=provider_id, **values)
        .on_conflict_do_update(index_elements=["provider_id"], set_=values)
    )
    return await get_settings(session, provider_id)


# --- handling events ----------------------------------------------------------------


async def handle_event(session: AsyncSession, event: EventEnvelope) -> None:
    """Record what ``event`` means for people; runs inside the consumer's transaction."""
    if event.type in ("provider.created", "provider.updated"):
        await _remember_provider(session, event)
        return
    if not event.type.startswith("booking."):
        return
    data = {k: v for k, v in event.data.items() if k not in SECRET_KEYS}
    booking_id = uuid.UUID(str(data.get("booking_id") or event.aggregate_id))
    current = await _advance_booking(session, booking_id, event, data)
    kind = BOOKING_KINDS.get(event.type)
    if kind is None:
        return
    if not current:
        log.info("stale_event_skipped", event_id=str(event.id), type=event.type)
        return
    provider_id = uuid.UUID(str(data.get("provider_id") or event.provider_id))
    prefs = await get_settings(session, provider_id)
    provider = (
        await session.execute(sa.select(providers).where(providers.c.provider_id == provider_id))
    ).first()
    payload: dict[str, Any] = {
        **data,
        "kind": kind,
        "aggregate_version": event.aggregate_version,
        "provider_slug": data.get("provider_slug") or (provider.slug if provider else None),
    }
    if not payload.get("provider_name") and provider is not None:
        payload["provider_name"] = provider.name
    customer = data.get("customer") or {}
    planned: list[tuple[str, str, str]] = []  # (channel, recipient, template)
    if customer.get("email"):
        planned.append(("email", customer["email"], "customer"))
    if prefs.sms_customer and customer.get("phone"):
        planned.append(("sms", customer["phone"], "customer"))
    owner_email = data.get("provider_email") or (provider.owner_email if provider else None)
    if prefs.email_provider and owner_email:
        planned.append(("email", owner_email, "provider"))
    if prefs.push_provider:
        endpoints = await session.scalars(
            sa.select(push_subscriptions.c.endpoint).where(
                push_subscriptions.c.provider_id == provider_id
            )
        )
        planned.extend(("push", endpoint, "provider") for endpoint in endpoints)
    await _queue(session, event.id, provider_id, booking_id, payload, planned)
    await _reschedule_reminders(session, booking_id, provider_id, event, payload, prefs, kind)


async def _remember_provider(session: AsyncSession, event: EventEnvelope) -> None:
    data = event.data
    values = {
        k: data.get(k)
        for k in ("slug", "name", "owner_email", "timezone")
        if data.get(k) is not None
    }
    stmt = insert(providers).values(provider_id=event.aggregate_id, **values)
    stmt = (
        stmt.on_conflict_do_update(index_elements=["provider_id"], set_=values)
        if values
        else stmt.on_conflict_do_nothing()
    )
    await session.execute(stmt)


async def _advance_booking(
    session: AsyncSession, booking_id: uuid.UUID, event: EventEnvelope, data: dict[str, Any]
) -> bool:
    """Keep the newest version seen; False when ``event`` is older than what we know."""
    status = str(data.get("status") or event.type.split(".", 1)[1])
    start = datetime.fromisoformat(str(data["start"]))
    row = (
        await session.execute(
            insert(booking_state)
            .values(
                booking_id=booking_id,
                version=event.aggregate_version,
                status=status,
                start_at=start,
            )
            .on_conflict_do_update(
                index_elements=["booking_id"],
                set_={"version": event.aggregate_version, "status": status, "start_at": start},
                where=booking_state.c.version <= event.aggregate_version,
            )
            .returning(booking_state.c.version)
        )
    ).first()
    return row is not None


async def _queue(
    session: AsyncSession,
    event_id: uuid.UUID,
    provider_id: uuid.UUID,
    booking_id: uuid.UUID | None,
    payload: dict[str, Any],
    planned: list[tuple[str, str, str]],
) -> None:
    if not planned:
        return
    now = datetime.now(UTC)
    await session.execute(
        insert(messages)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "event_id": event_id,
                    "channel": channel,
                    "recipient": recipient,
                    "provider_id": provider_id,
                    "booking_id": booking_id,
                    "template": template,
                    "payload": payload,
                    "next_attempt_at": now,
                }
                for channel, recipient, template in planned
            ]
        )
        .on_conflict_do_nothing(constraint="uq_messages_dedup")
    )


async def _reschedule_reminders(
    session: AsyncSession,
    booking_id: uuid.UUID,
    provider_id: uuid.UUID,
    event: EventEnvelope,
    payload: dict[str, Any],
    prefs: ProviderSettings,
    kind: str,
) -> None:
    await session.execute(
        reminders.update()
        .where(
            reminders.c.booking_id == booking_id,
            reminders.c.status == "scheduled",
            reminders.c.booking_version < event.aggregate_version,
        )
        .values(status="cancelled")
    )
    if kind == "cancelled":
        return
    start = datetime.fromisoformat(str(payload["start"]))
    now = datetime.now(UTC)
    rows = [
        {
            "booking_id": booking_id,
            "booking_version": event.aggregate_version,
            "offset_minutes": offset,
            "provider_id": provider_id,
            "due_at": start - timedelta(minutes=offset),
            "payload": {**payload, "kind": "reminder", "offset_minutes": offset},
        }
        for offset in prefs.reminder_offsets
        if start - timedelta(minutes=offset) > now
    ]
    if rows:
        await session.execute(insert(reminders).values(rows).on_conflict_do_nothing())


async def sweep_reminders(session: AsyncSession, now: datetime | None = None) -> int:
    """Turn due reminders into messages; drop those of cancelled or moved bookings."""
    now = now or datetime.now(UTC)
    due = (
        await session.execute(
            sa.select(reminders, booking_state.c.version, booking_state.c.status.label("bstatus"))
            .join(booking_state, booking_state.c.booking_id == reminders.c.booking_id)
            .where(reminders.c.status == "scheduled", reminders.c.due_at <= now)
            .order_by(reminders.c.due_at)
            .limit(200)
            .with_for_update(of=reminders, skip_locked=True)
        )
    ).all()
    queued = 0
    for r in due:
        valid = r.version == r.booking_version and r.bstatus != "cancelled"
        if valid:
            key = uuid.uuid5(
                REMINDER_NAMESPACE, f"{r.booking_id}:{r.booking_version}:{r.offset_minutes}"
            )
            customer = r.payload.get("customer") or {}
            prefs = await get_settings(session, r.provider_id)
            planned = []
            if customer.get("email"):
                planned.append(("email", customer["email"], "customer"))
            if prefs.sms_customer and customer.get("phone"):
                planned.append(("sms", customer["phone"], "customer"))
            await _queue(session, key, r.provider_id, r.booking_id, r.payload, planned)
            queued += len(planned)
        await session.execute(
            reminders.update()
            .where(
                reminders.c.booking_id == r.booking_id,
                reminders.c.booking_version == r.booking_version,
                reminders.c.offset_minutes == r.offset_minutes,
            )
            .values(status="sent" if valid else "cancelled")
        )
    return queued


# --- rendering ----------------------------------------------------------------------


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _when(value: str | None, zone: ZoneInfo) -> str | None:
    if not value:
        return None
    local = datetime.fromisoformat(value).astimezone(zone)
    return local.strftime("%A %-d %B %Y, %H:%M")


def sender_address(public_url: str) -> str:
    host = urlsplit(public_url).hostname or ""
    if "." not in host or host.replace(".", "").isdigit():
        host = "calisera.localhost"
    return f"no-reply@{host}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def customer_manage_token(payload: dict[str, Any], secret: str | None) -> str | None:
    """The booking's manage token, unsealed from ``booking.created`` data; never stored."""
    sealed = payload.get("manage_token_sealed")
    if not sealed or not secret:
        return None
    return unseal(secret, MANAGE_TOKEN_PURPOSE, str(sealed))


def render(
    template: str, payload: dict[str, Any], public_url: str, manage_token: str | None = None
) -> Rendered:
    """Subject, plain text and HTML of one message, in the reader's time zone.

    The customer's e-mail links to the manage page with the token when it is known (the
    confirmation); later messages link to the page, which asks for the first e-mail's link.
    """
    customer = payload.get("customer") or {}
    provider_zone = _zone(payload.get("provider_timezone")) or ZoneInfo("UTC")
    zone = provider_zone
    if template == "customer":
        zone = _zone(customer.get("timezone")) or provider_zone
    kind = payload["kind"]
    slug = payload.get("provider_slug") or payload.get("provider_id")
    base = public_url.rstrip("/")
    provider_name = payload.get("provider_name") or "your provider"
    service_name = payload.get("service_name") or "Appointment"
    when = _when(payload.get("start"), zone) or ""
    context = {
        "kind": kind,
        "customer_name": customer.get("name") or "there",
        "customer_email": customer.get("email"),
        "customer_phone": customer.get("phone"),
        "provider_name": provider_name,
        "service_name": service_name,
        "seats": payload.get("seats") or 1,
        "when": when,
        "previous_when": _when(payload.get("previous_start"), zone),
        "timezone": zone.key,
        "reason": payload.get("reason"),
        "manage_url": f"{base}/p/{slug}/manage/{payload.get('booking_id')}"
        + (f"?{urlencode({'token': manage_token})}" if manage_token else ""),
        "page_url": f"{base}/p/{slug}",
        "when_relative": _relative(payload.get("offset_minutes")),
    }
    subjects = {
        "created": f"Booking confirmed: {service_name} with {provider_name}, {when}",
        "rescheduled": f"Booking moved: {service_name} with {provider_name}, now {when}",
        "cancelled": f"Booking cancelled: {service_name} with {provider_name}, {when}",
        "reminder": f"Reminder: {service_name} with {provider_name}, {when}",
    }
    subject = subjects[kind]
    if template == "provider":
        label = {"created": "New booking", "rescheduled": "Booking moved"}.get(
            kind, "Booking cancelled"
        )
        subject = f"{label}: {context['customer_name']}, {service_name}, {when}"
    return Rendered(
        subject=subject,
        text=_templates.get_template(f"{template}.txt.j2").render(context),
        html=_templates.get_template(f"{template}.html.j2").render(context),
    )


def _relative(offset: int | None) -> str:
    if not offset:
        return "soon"
    if offset % (24 * 60) == 0:
        days = offset // (24 * 60)
        return "tomorrow" if days == 1 else f"in {days} days"
    if offset % 60 == 0:
        hours = offset // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {offset} minutes"


def calendar_file(payload: dict[str, Any], attendee: str | None) -> tuple[bytes, str] | None:
    """The .ics of a booking message: REQUEST (SEQUENCE = booking version) or CANCEL."""
    kind = payload["kind"]
    if kind == "reminder":
        return None
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    ics = booking_ics(
        uid=f"{payload['booking_id']}@calisera",
        sequence=int(payload.get("aggregate_version") or 0),
        start=datetime.fromisoformat(payload["start"]),
        end=datetime.fromisoformat(payload["end"]),
        summary=f"{payload.get('service_name') or 'Appointment'} with "
        f"{payload.get('provider_name') or 'your provider'}",
        description=None,
        location=payload.get("location"),
        organizer_email=None,
        organizer_name=payload.get("provider_name"),
        attendee_email=attendee,
        attendee_name=(payload.get("customer") or {}).get("name"),
        method=method,  # type: ignore[arg-type]
        status="CANCELLED" if kind == "cancelled" else "CONFIRMED",
    )
    return ics, method


def sms_text(payload: dict[str, Any], public_url: str) -> str:
    r = render("customer", payload, public_url)
    return r.subject


# --- sending ------------------------------------------------------------------------


def email_sender(ctx: WorkerContext) -> EmailSender:
    if ctx.settings.smtp_url:
        return SmtpSender(ctx.settings.smtp_url)
    return DevMailbox(ctx.sessionmaker)


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
    try:
        await _dispatch(ctx, message)
    except DeliveryFailed as exc:
        dead = attempts >= ctx.settings.delivery_max_attempts
        delay = ctx.settings.retry_base_seconds * 2 ** (attempts - 1) * (0.5 + random.random())
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


async def _dispatch(ctx: WorkerContext, message: Any) -> None:
    payload: dict[str, Any] = message.payload
    public_url = ctx.settings.public_url
    if message.channel == "email":
        token = (
            customer_manage_token(payload, ctx.settings.admin_token_value)
            if message.template == "customer"
            else None
        )
        rendered = render(message.template, payload, public_url, token)
        attendee = message.recipient if message.template == "customer" else None
        ics = calendar_file(payload, attendee)
        await email_sender(ctx).send(
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


async def vapid_key_pair(session: AsyncSession) -> tuple[str, str]:
    """(private PEM, public key); generated once and kept in the schema."""
    row = (await session.execute(sa.select(vapid_keys).where(vapid_keys.c.id == 1))).first()
    if row is None:
        private_pem, public = new_vapid_keys()
        await session.execute(
            insert(vapid_keys)
            .values(id=1, private_pem=private_pem, public_key=public)
            .on_conflict_do_nothing()
        )
        row = (await session.execute(sa.select(vapid_keys).where(vapid_keys.c.id == 1))).one()
    return row.private_pem, row.public_key


# --- push subscriptions and the delivery log --------------------------------------------


async def subscribe(
    session: AsyncSession, provider_id: uuid.UUID, endpoint: str, p256dh: str, auth: str
) -> uuid.UUID:
    values = {"provider_id": provider_id, "p256dh": p256dh, "auth": auth}
    row = (
        await session.execute(
            insert(push_subscriptions)
            .values(id=uuid.uuid4(), endpoint=endpoint, **values)
            .on_conflict_do_update(index_elements=["endpoint"], set_=values)
            .returning(push_subscriptions.c.id)
        )
    ).one()
    return uuid.UUID(str(row.id))


async def unsubscribe(session: AsyncSession, provider_id: uuid.UUID, endpoint: str) -> bool:
    result = await session.execute(
        push_subscriptions.delete().where(
            push_subscriptions.c.provider_id == provider_id,
            push_subscriptions.c.endpoint == endpoint,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def _encode_cursor(created_at: datetime, message_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{message_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    created, _, message_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    return datetime.fromisoformat(created), uuid.UUID(message_id)


async def deliveries(
    session: AsyncSession, provider_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    query = (
        sa.select(messages)
        .where(messages.c.provider_id == provider_id)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        created, message_id = _decode_cursor(cursor)
        query = query.where(sa.tuple_(messages.c.created_at, messages.c.id) < (created, message_id))
    rows = list((await session.execute(query)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, next_cursor


def valid_cursor(cursor: str) -> bool:
    try:
        _decode_cursor(cursor)
    except (ValueError, UnicodeDecodeError):
        return False
    return True
