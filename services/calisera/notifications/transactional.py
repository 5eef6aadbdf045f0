"""Transactional e-mail for other services (the users service's sign-in links).

``POST /internal/v1/notifications/emails`` (platform credential only) sends one message
at once through the channel booking mail uses (:func:`~.channels.email_sender`): SMTP
with ``CALISERA_SMTP_URL``, the development mailbox under ``calisera up``. It is not
queued: the caller learns of a failure (503, also when e-mail is off, and then nothing
is kept) and the person can ask for another link.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from calisera.core.auth import CurrentPrincipal
from calisera.core.dependencies import PlatformDep
from calisera.core.errors import ServiceUnavailable
from calisera.notifications.channels import DeliveryFailed, Email, email_sender
from calisera.notifications.rendering import sender_address
from calisera.notifications.schemas import TransactionalEmail

router = APIRouter(prefix="/internal/v1/notifications", tags=["internal"])


@router.post(
    "/emails",
    status_code=202,
    response_class=Response,
    responses={202: {"description": "Accepted for delivery"}},
)
async def send_transactional_email(
    body: TransactionalEmail, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    principal.require_admin()
    settings = platform.settings
    try:
        await email_sender(settings, platform.db.sessionmaker).send(
            Email(
                message_id=f"<{uuid.uuid4()}@calisera>",
                sender=f"Calisera <{sender_address(settings.public_url)}>",
                recipient=body.to,
                subject=body.subject,
                text=body.text,
                html=body.html,
            )
        )
    except DeliveryFailed as exc:
        raise ServiceUnavailable(f"The e-mail could not be sent: {exc}") from exc
    return Response(status_code=202)
