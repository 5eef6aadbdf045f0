"""What other services call on the notifications service: send a transactional e-mail."""

from __future__ import annotations

from calisera.core.clients import ServiceClient
from calisera.notifications.schemas import TransactionalEmail


class NotificationsClient(ServiceClient):
    service = "notifications"

    async def send_email(self, email: TransactionalEmail) -> None:
        """Send now; raises :class:`~calisera.core.errors.ServiceUnavailable` on failure."""
        response = await self.request(
            "POST", "/internal/v1/notifications/emails", json=email.model_dump()
        )
        response.raise_for_status()
