"""Until when a customer may cancel or move their booking, said in their time zone.

The bookings service decides (``cancellation_notice_minutes``, and
``reschedule_notice_minutes`` or, when the service sets none, the cancellation notice
for moves too); the manage page only explains the same rule beforehand, so the
customer is not offered a button that can only be refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from calisera.web import views
from calisera.web.clients import Booking, PublicService


@dataclass(frozen=True)
class ChangeWindows:
    cancel_until: datetime
    move_until: datetime
    zone: str
    now: datetime

    @property
    def can_cancel(self) -> bool:
        return self.now <= self.cancel_until

    @property
    def can_move(self) -> bool:
        return self.now <= self.move_until

    def _text(self, instant: datetime) -> str:
        day = views.day_text(views.local(instant, self.zone).date())
        return f"{day}, {views.time_text(instant, self.zone)}"

    @property
    def cancel_text(self) -> str:
        return self._text(self.cancel_until)

    @property
    def move_text(self) -> str:
        return self._text(self.move_until)


def change_windows(
    booking: Booking, service: PublicService | None, zone: str, now: datetime
) -> ChangeWindows | None:
    """The windows of a confirmed booking of a service still on the page (else none:
    a request may be withdrawn at any time, and an archived service's policy is not
    public)."""
    if service is None or booking.status != "confirmed":
        return None
    move = service.reschedule_notice_minutes
    if move is None:
        move = service.cancellation_notice_minutes
    return ChangeWindows(
        cancel_until=booking.start - timedelta(minutes=service.cancellation_notice_minutes),
        move_until=booking.start - timedelta(minutes=move),
        zone=zone,
        now=now,
    )
