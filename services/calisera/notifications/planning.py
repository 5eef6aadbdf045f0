"""Which messages an event causes, recorded in the consumer's transaction.

Handling an event only *records* what must be sent (``messages`` rows, each unique by
(event id, channel, recipient)) and schedules reminders, in the consumer's transaction.
Events are parsed with the producers' models (``bookings/events.py``,
``providers/events.py``); an event older than what is known of its booking is stale
and causes no message (only its manage token, see :mod:`.manage_links`).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from calisera.bookings.events import (
    BOOKING_CREATED,
    BOOKING_EVENTS,
    BOOKING_REQUESTED,
    BookingData,
)
from calisera.core.events import EventEnvelope
from calisera.notifications.deliveries import queue_messages
from calisera.notifications.manage_links import keep_manage_token
from calisera.notifications.models import (
    booking_state,
    provider_settings,
    providers,
    push_subscriptions,
)
from calisera.notifications.preferences import ProviderSettings
from calisera.notifications.reminders import schedule_reminders
from calisera.providers.events import PROVIDER_CREATED, PROVIDER_UPDATED, ProviderData

log = structlog.get_logger("calisera.notifications")

BOOKING_KINDS = {
    "booking.created": "created",
    "booking.rescheduled": "rescheduled",
    "booking.cancelled": "cancelled",
    "booking.requested": "requested",
    "booking.confirmed": "confirmed",
    "booking.declined": "declined",
    "booking.expired": "expired",
}
"""The booking events people are told about, and the message kind of each (a request
of a service that requires confirmation: requested, then confirmed, declined, expired
or cancelled)."""

TOKEN_EVENTS = frozenset({BOOKING_CREATED.name, BOOKING_REQUESTED.name})
"""The events that carry the customer's manage token (sealed) when there is one."""


PROVIDER_EVENTS = {t.name: t for t in (PROVIDER_CREATED, PROVIDER_UPDATED)}


async def handle_event(session: AsyncSession, event: EventEnvelope, *, email: bool) -> None:
    """Record what ``event`` means for people; runs inside the consumer's transaction.

    The data is parsed with the producer's model (``bookings/events.py``,
    ``providers/events.py``): an unknown major version raises
    :class:`~calisera.core.events.UnsupportedEventVersion`, which the worker
    dead-letters. ``email`` is False when e-mail is off (no SMTP URL and no development
    mailbox): then no e-mail is planned at all, so nothing waits, fails or is stored.
    """
    if event.type in PROVIDER_EVENTS:
        await _remember_provider(
            session, event.aggregate_id, PROVIDER_EVENTS[event.type].parse(event)
        )
        return
    event_type = BOOKING_EVENTS.get(event.type)
    if event_type is None:
        return  # a booking event this consumer does not know yet: nothing to tell anyone
    data = event_type.parse(event)
    booking_id = data.booking_id
    if email and (data.manage_token_sealed or event.type in TOKEN_EVENTS):
        # Before the staleness check: a late booking.created still brings its token.
        await keep_manage_token(session, booking_id, data.manage_token_sealed)
    current = await _advance_booking(session, booking_id, event.aggregate_version, data)
    kind = BOOKING_KINDS.get(event.type)
    if kind is None:
        return
    if not current:
        log.info("stale_event_skipped", event_id=str(event.id), type=event.type)
        return
    provider_id = data.provider_id
    provider = (await session.execute(_PROVIDER, {"of_provider": provider_id})).one()
    prefs = (
        ProviderSettings(
            reminder_offsets=tuple(provider.reminder_offsets),
            email_provider=provider.email_provider,
            push_provider=provider.push_provider,
            sms_customer=provider.sms_customer,
        )
        if provider.reminder_offsets is not None
        else ProviderSettings()
    )
    payload: dict[str, Any] = {
        **data.model_dump(mode="json", exclude={"manage_token_sealed"}),
        "kind": kind,
        "aggregate_version": event.aggregate_version,
        "provider_slug": data.provider_slug or provider.slug,
    }
    if data.series is not None and not data.series.speaks:
        # One change of several bookings of a class series (booking it, cancelling the
        # rest): the first booking's event tells people about all of them, once.
        await schedule_reminders(
            session, booking_id, provider_id, event.aggregate_version, payload, prefs, kind
        )
        return
    planned: list[tuple[str, str, str]] = []  # (channel, recipient, template)
    if email and data.customer.email:
        planned.append(("email", data.customer.email, "customer"))
    if prefs.sms_customer and data.customer.phone:
        planned.append(("sms", data.customer.phone, "customer"))
    if email and prefs.email_provider and provider.owner_email:
        planned.append(("email", provider.owner_email, "provider"))
    if prefs.push_provider:
        planned.extend(("push", endpoint, "provider") for endpoint in provider.push_endpoints)
    await queue_messages(session, event.id, provider_id, booking_id, payload, planned)
    await schedule_reminders(
        session, booking_id, provider_id, event.aggregate_version, payload, prefs, kind
    )


def _provider_statement() -> sa.Select[Any]:
    """What planning needs of a provider, in one query: its slug and owner address (from
    its events), its settings (None: the defaults) and its push endpoints."""
    wanted = sa.select(sa.bindparam("of_provider", type_=sa.Uuid).label("id")).subquery("k")
    return (
        sa.select(
            providers.c.slug,
            providers.c.owner_email,
            provider_settings.c.reminder_offsets,
            provider_settings.c.email_provider,
            provider_settings.c.push_provider,
            provider_settings.c.sms_customer,
            sa.func.array(
                sa.select(push_subscriptions.c.endpoint)
                .where(push_subscriptions.c.provider_id == wanted.c.id)
                .scalar_subquery()
            ).label("push_endpoints"),
        )
        .select_from(wanted)
        .outerjoin(providers, providers.c.provider_id == wanted.c.id)
        .outerjoin(provider_settings, provider_settings.c.provider_id == wanted.c.id)
    )


_PROVIDER = _provider_statement()
"""Built once (every booking event runs it); was three queries."""


async def _remember_provider(
    session: AsyncSession, provider_id: uuid.UUID, data: ProviderData
) -> None:
    """The provider's slug, name, owner address and zone, for messages about bookings."""
    values = {
        "slug": data.slug,
        "name": data.name,
        "owner_email": data.owner_email,
        "timezone": data.timezone,
    }
    await session.execute(
        insert(providers)
        .values(provider_id=provider_id, **values)
        .on_conflict_do_update(index_elements=["provider_id"], set_=values)
    )


async def _advance_booking(
    session: AsyncSession, booking_id: uuid.UUID, version: int, data: BookingData
) -> bool:
    """Keep the newest version seen; False when the event is older than what we know."""
    row = (
        await session.execute(
            _ADVANCE_BOOKING,
            {
                "b_id": booking_id,
                "b_version": version,
                "b_status": data.status,
                "b_start": data.start,
            },
        )
    ).first()
    return row is not None


_ADVANCE_BOOKING = (
    insert(booking_state)
    .values(
        booking_id=sa.bindparam("b_id"),
        version=sa.bindparam("b_version"),
        status=sa.bindparam("b_status"),
        start_at=sa.bindparam("b_start"),
    )
    .on_conflict_do_update(
        index_elements=["booking_id"],
        set_={
            "version": sa.bindparam("b_version"),
            "status": sa.bindparam("b_status"),
            "start_at": sa.bindparam("b_start"),
        },
        where=booking_state.c.version <= sa.bindparam("b_version"),
    )
    .returning(booking_state.c.version)
)
"""Built once (every booking event runs it)."""
