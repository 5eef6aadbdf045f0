"""HTTP routes of the notifications service: push subscriptions, settings, the delivery
log, and the development mailbox."""

from __future__ import annotations

import ipaddress

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import Forbidden, NotFound
from calisera.core.openapi import problem_responses
from calisera.core.ownership import OwnedProviderDep
from calisera.core.pagination import DEFAULT_LIMIT, Cursor, Limit
from calisera.core.platform import Platform, ServiceSpec
from calisera.notifications import deliveries, preferences, rendering, subscriptions, transactional
from calisera.notifications.models import dev_mailbox
from calisera.notifications.schemas import (
    Delivery,
    DeliveryPage,
    Mailbox,
    MailboxMessage,
    NotificationSettings,
    PushSubscriptionIn,
    PushSubscriptionOut,
    PushUnsubscribe,
    VapidPublicKey,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get("/vapid-public-key", response_model=VapidPublicKey)
async def vapid_public_key(session: SessionDep) -> VapidPublicKey:
    async with session.begin():
        _, public = await subscriptions.vapid_key_pair(session)
    return VapidPublicKey(public_key=public)


@router.post(
    "/providers/{provider_id}/push-subscriptions",
    status_code=201,
    response_model=PushSubscriptionOut,
    responses=problem_responses(subscriptions.PushEndpointTaken),
)
async def add_push_subscription(
    provider: OwnedProviderDep,
    body: PushSubscriptionIn,
    session: SessionDep,
) -> PushSubscriptionOut:
    """Subscribe a device; repeating it refreshes its keys. An endpoint subscribed for
    another provider is refused with 409 ``push-endpoint-taken``: it stays theirs."""
    async with session.begin():
        sub_id = await subscriptions.subscribe(
            session, provider.id, str(body.endpoint), body.keys.p256dh, body.keys.auth
        )
    return PushSubscriptionOut(id=sub_id, endpoint=str(body.endpoint))


@router.delete("/providers/{provider_id}/push-subscriptions", status_code=204)
async def remove_push_subscription(
    provider: OwnedProviderDep,
    body: PushUnsubscribe,
    session: SessionDep,
) -> Response:
    async with session.begin():
        await subscriptions.unsubscribe(session, provider.id, str(body.endpoint))
    return Response(status_code=204)


def _settings_out(value: preferences.ProviderSettings) -> NotificationSettings:
    return NotificationSettings(
        reminder_offsets_minutes=list(value.reminder_offsets),
        email_provider=value.email_provider,
        push_provider=value.push_provider,
        sms_customer=value.sms_customer,
    )


@router.get("/providers/{provider_id}/settings", response_model=NotificationSettings)
async def get_settings(provider: OwnedProviderDep, session: SessionDep) -> NotificationSettings:
    async with session.begin():
        return _settings_out(await preferences.get_settings(session, provider.id))


@router.put("/providers/{provider_id}/settings", response_model=NotificationSettings)
async def put_settings(
    provider: OwnedProviderDep,
    body: NotificationSettings,
    session: SessionDep,
) -> NotificationSettings:
    async with session.begin():
        stored = await preferences.put_settings(
            session,
            provider.id,
            preferences.ProviderSettings(
                reminder_offsets=tuple(body.reminder_offsets_minutes),
                email_provider=body.email_provider,
                push_provider=body.push_provider,
                sms_customer=body.sms_customer,
            ),
        )
    return _settings_out(stored)


@router.get("/providers/{provider_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    provider: OwnedProviderDep,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> DeliveryPage:
    """The delivery log: every message for this provider's bookings, newest first."""
    async with session.begin():
        rows, next_cursor = await deliveries.delivery_page(
            session, provider.id, limit=limit, cursor=cursor
        )
    return DeliveryPage(
        items=[
            Delivery(
                id=r.id,
                event_id=r.event_id,
                booking_id=r.booking_id,
                channel=r.channel,
                recipient=r.recipient,
                kind=f"{r.template}.{r.payload.get('kind')}",
                status=r.status,
                attempts=r.attempts,
                last_error=r.last_error,
                created_at=r.created_at,
                sent_at=r.sent_at,
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else None
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _mailbox(request: Request, platform: Platform, session: SessionDep) -> Mailbox:
    """Every customer's mail, manage links included: only ``calisera up`` keeps it (the
    ``dev_mailbox`` setting), and only a browser on that very machine may read it; a
    request from any other address is refused, whatever credentials it carries."""
    if not platform.settings.dev_mailbox:
        raise NotFound("There is no development mailbox: it exists only under `calisera up`.")
    if not _loopback(request):
        raise Forbidden("The development mailbox is served to this machine only.")
    async with session.begin():
        rows = (
            await session.execute(
                sa.select(dev_mailbox).order_by(dev_mailbox.c.id.desc()).limit(100)
            )
        ).all()
    return Mailbox(
        items=[
            MailboxMessage(
                id=r.id,
                sender=r.sender,
                recipient=r.recipient,
                subject=r.subject,
                text=r.text,
                received_at=r.received_at,
            )
            for r in rows
        ]
    )


@router.get("/dev/mailbox", response_model=Mailbox, responses=problem_responses(404))
async def mailbox_json(request: Request, session: SessionDep, platform: PlatformDep) -> Mailbox:
    """E-mail ``calisera up`` kept instead of sending (no ``CALISERA_SMTP_URL``)."""
    return await _mailbox(request, platform, session)


@router.get("/dev/mailbox.html", response_class=HTMLResponse, responses=problem_responses(404))
async def mailbox_html(
    request: Request, session: SessionDep, platform: PlatformDep
) -> HTMLResponse:
    box = await _mailbox(request, platform, session)
    template = rendering.templates().get_template("mailbox.html.j2")
    return HTMLResponse(template.render(messages=box.items))


spec = ServiceSpec(
    name="notifications", routers=[router, transactional.router], schema="notifications"
)
