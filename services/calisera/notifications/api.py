"""HTTP routes of the notifications service: push subscriptions, settings, the delivery
log, and the development mailbox."""

from __future__ import annotations

import uuid
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from calisera.core.auth import CurrentPrincipal, Principal
from calisera.core.dependencies import PlatformDep, SessionDep
from calisera.core.errors import Forbidden, InvalidInput, NotFound
from calisera.core.ownership import authorize_provider
from calisera.core.platform import Platform, ServiceSpec
from calisera.notifications import service, transactional
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


async def require_owner(platform: Platform, principal: Principal, provider_id: uuid.UUID) -> None:
    """Owner (by the providers service's record) or admin; 404 for other tenants."""
    await authorize_provider(platform.owners, principal, provider_id)


@router.get("/vapid-public-key", response_model=VapidPublicKey)
async def vapid_public_key(session: SessionDep) -> VapidPublicKey:
    async with session.begin():
        _, public = await service.vapid_key_pair(session)
    return VapidPublicKey(public_key=public)


@router.post(
    "/providers/{provider_id}/push-subscriptions",
    status_code=201,
    response_model=PushSubscriptionOut,
)
async def add_push_subscription(
    provider_id: uuid.UUID,
    body: PushSubscriptionIn,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
) -> PushSubscriptionOut:
    await require_owner(platform, principal, provider_id)
    async with session.begin():
        sub_id = await service.subscribe(
            session, provider_id, str(body.endpoint), body.keys.p256dh, body.keys.auth
        )
    return PushSubscriptionOut(id=sub_id, endpoint=str(body.endpoint))


@router.delete("/providers/{provider_id}/push-subscriptions", status_code=204)
async def remove_push_subscription(
    provider_id: uuid.UUID,
    body: PushUnsubscribe,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
) -> Response:
    await require_owner(platform, principal, provider_id)
    async with session.begin():
        await service.unsubscribe(session, provider_id, str(body.endpoint))
    return Response(status_code=204)


def _settings_out(value: service.ProviderSettings) -> NotificationSettings:
    return NotificationSettings(
        reminder_offsets_minutes=list(value.reminder_offsets),
        email_provider=value.email_provider,
        push_provider=value.push_provider,
        sms_customer=value.sms_customer,
    )


@router.get("/providers/{provider_id}/settings", response_model=NotificationSettings)
async def get_settings(
    provider_id: uuid.UUID, session: SessionDep, platform: PlatformDep, principal: CurrentPrincipal
) -> NotificationSettings:
    await require_owner(platform, principal, provider_id)
    async with session.begin():
        return _settings_out(await service.get_settings(session, provider_id))


@router.put("/providers/{provider_id}/settings", response_model=NotificationSettings)
async def put_settings(
    provider_id: uuid.UUID,
    body: NotificationSettings,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
) -> NotificationSettings:
    await require_owner(platform, principal, provider_id)
    async with session.begin():
        stored = await service.put_settings(
            session,
            provider_id,
            service.ProviderSettings(
                reminder_offsets=tuple(body.reminder_offsets_minutes),
                email_provider=body.email_provider,
                push_provider=body.push_provider,
                sms_customer=body.sms_customer,
            ),
        )
    return _settings_out(stored)


@router.get("/providers/{provider_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    provider_id: uuid.UUID,
    session: SessionDep,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> DeliveryPage:
    """The delivery log: every message for this provider's bookings, newest first."""
    await require_owner(platform, principal, provider_id)
    if cursor is not None and not service.valid_cursor(cursor):
        raise InvalidInput.field("cursor", "Not a cursor this endpoint returned.")
    async with session.begin():
        rows, next_cursor = await service.deliveries(
            session, provider_id, limit=limit, cursor=cursor
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


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


async def _mailbox(
    request: Request, platform: Platform, principal: Principal, session: SessionDep
) -> Mailbox:
    if platform.settings.smtp_url:
        raise NotFound("The development mailbox is off: e-mail goes to CALISERA_SMTP_URL.")
    client_host = request.client.host if request.client else None
    if not principal.is_admin and client_host not in LOOPBACK:
        # It shows every customer's mail: the admin, or a browser on this very machine.
        raise Forbidden("The development mailbox is for this machine (or the admin token).")
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


@router.get("/dev/mailbox", response_model=Mailbox)
async def mailbox_json(
    request: Request, session: SessionDep, platform: PlatformDep, principal: CurrentPrincipal
) -> Mailbox:
    """E-mail the platform would have sent (only without ``CALISERA_SMTP_URL``)."""
    return await _mailbox(request, platform, principal, session)


@router.get("/dev/mailbox.html", response_class=HTMLResponse)
async def mailbox_html(
    request: Request, session: SessionDep, platform: PlatformDep, principal: CurrentPrincipal
) -> HTMLResponse:
    box = await _mailbox(request, platform, principal, session)
    template = service.templates().get_template("mailbox.html.j2")
    return HTMLResponse(template.render(messages=box.items))


spec = ServiceSpec(
    name="notifications", routers=[router, transactional.router], schema="notifications"
)
