"""Signed webhooks: endpoints, secrets shown once, deliveries verified by a real
receiver on loopback (also one that is down for a while and one that is slow),
backoff, disabling with an e-mail to the owner, the delivery log and redelivery."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from calisera.core.events import EventEnvelope
from tests.integration.integrations.receiver import Receiver
from tests.integration.pipeline.conftest import booking_event, query

BASE = "/api/v1/integrations/providers"


async def _endpoint(client, provider, url: str, types=("booking.created",)) -> dict[str, Any]:
    r = await client.post(
        f"{BASE}/{provider.id}/webhooks",
        json={"url": url, "event_types": list(types), "description": "CRM"},
        headers=provider.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _log(client, provider, endpoint_id: str) -> list[dict[str, Any]]:
    r = await client.get(
        f"{BASE}/{provider.id}/webhooks/{endpoint_id}/deliveries", headers=provider.headers
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _event(provider, type_: str = "booking.created", **kw: Any) -> EventEnvelope:
    return booking_event(type_, provider_id=uuid.UUID(provider.id), **kw)


async def _sweep_until(fast_settings, worker_db, predicate, within: float = 20.0) -> None:
    from calisera.integrations.webhook_delivery import send_due

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        await send_due(fast_settings, worker_db.sessionmaker)
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_secret_is_shown_once_and_never_again(client, provider, settings):
    created = await _endpoint(client, provider, "https://hooks.example.test/in")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    listed = await client.get(f"{BASE}/{provider.id}/webhooks", headers=provider.headers)
    one = await client.get(
        f"{BASE}/{provider.id}/webhooks/{created['id']}", headers=provider.headers
    )
    patched = await client.patch(
        f"{BASE}/{provider.id}/webhooks/{created['id']}",
        json={"description": "renamed"},
        headers=provider.headers,
    )
    for answer in (listed, one, patched):
        assert answer.status_code == 200
        assert secret not in answer.text and "secret" not in answer.text
    stored = query(
        settings.database_url, "SELECT secret_sealed FROM integrations.webhook_endpoints"
    )
    assert stored and secret not in stored[0][0] and secret[6:] not in stored[0][0]


async def test_another_tenants_token_gets_404_everywhere(client, provider, auth_headers):
    created = await _endpoint(client, provider, "https://hooks.example.test/in")
    stranger = auth_headers("stranger@example.com")
    eid = created["id"]
    for method, path, body in [
        ("GET", f"{BASE}/{provider.id}/webhooks", None),
        (
            "POST",
            f"{BASE}/{provider.id}/webhooks",
            {"url": "https://x.test/a", "event_types": ["booking.created"]},
        ),
        ("GET", f"{BASE}/{provider.id}/webhooks/{eid}", None),
        ("PATCH", f"{BASE}/{provider.id}/webhooks/{eid}", {"enabled": False}),
        ("DELETE", f"{BASE}/{provider.id}/webhooks/{eid}", None),
        ("GET", f"{BASE}/{provider.id}/webhooks/{eid}/deliveries", None),
        ("POST", f"{BASE}/{provider.id}/webhooks/{eid}/deliveries/{uuid.uuid4()}/redeliver", None),
        ("POST", f"{BASE}/{provider.id}/feed", None),
        ("GET", f"{BASE}/{provider.id}/feed", None),
        ("DELETE", f"{BASE}/{provider.id}/feed", None),
        (
            "PUT",
            f"{BASE}/{provider.id}/caldav",
            {"url": "https://c.test/x/", "username": "a", "password": "b"},
        ),
        ("GET", f"{BASE}/{provider.id}/caldav", None),
        ("POST", f"{BASE}/{provider.id}/caldav/sync", None),
        ("DELETE", f"{BASE}/{provider.id}/caldav", None),
    ]:
        r = await client.request(method, path, json=body, headers=stranger)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    still = await client.get(f"{BASE}/{provider.id}/webhooks/{eid}", headers=provider.headers)
    assert still.status_code == 200 and still.json()["enabled"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://a.test/\x00", "event_types": ["booking.created"]}, "url"),
        ({"url": "ftp://a.test/x", "event_types": ["booking.created"]}, "url"),
        ({"url": "https://user:pw@a.test/x", "event_types": ["booking.created"]}, "url"),
        ({"url": "https://a.test/" + "x" * 5000, "event_types": ["booking.created"]}, "url"),
        ({"url": "https://a.test/x", "event_types": ["booking.exploded"]}, "event_types"),
        ({"url": "https://a.test/x", "event_types": []}, "event_types"),
        (
            {
                "url": "https://a.test/x",
                "event_types": ["booking.created"],
                "description": "a\x00b",
            },
            "description",
        ),
        (
            {"url": "https://a.test/x", "event_types": ["booking.created"], "secret": "mine"},
            "secret",
        ),
    ],
)
async def test_bad_endpoint_input_is_422_naming_the_field(client, provider, body, field):
    r = await client.post(f"{BASE}/{provider.id}/webhooks", json=body, headers=provider.headers)
    assert r.status_code == 422, r.text
    assert any(field in e["field"] for e in r.json()["errors"]), r.json()


async def test_delivery_is_signed_and_verified_by_the_receiver(
    client, provider, consume, receiver: Receiver
):
    created = await _endpoint(client, provider, receiver.url)
    receiver.secret = created["secret"]
    event = _event(provider, extra={"manage_token_sealed": "sealed-token-never-leaves"})
    assert await consume(event)
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.verified
    assert got.headers["webhook-id"] == f"msg_{event.id.hex}"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 300
    assert got.body["type"] == "booking.created"
    assert got.body["data"]["booking_id"] == str(event.aggregate_id)
    assert "manage_token_sealed" not in got.body["data"]
    assert not await consume(event)  # the same event again: nothing is sent twice
    assert len(receiver.received) == 1
    [entry] = await _log(client, provider, created["id"])
    assert entry["status"] == "delivered" and entry["attempts"] == 1
    assert entry["last_status_code"] == 200 and entry["last_latency_ms"] >= 0
    assert entry["last_response_excerpt"] == '{"ok": true}'
    assert entry["event_id"] == str(event.id)


async def test_nothing_queued_skips_the_after_commit_work(
    client, provider, integrations_consumer, worker_db, receiver: Receiver
):
    """Most providers have no webhooks and no calendar: their events cost no second
    transaction; an event that queued a delivery still sends it right after the commit."""
    from calisera.core.consumers import Delivered, deliver

    sessions = worker_db.sessionmaker
    assert await deliver(integrations_consumer, sessions, _event(provider)) is Delivered.QUIET
    created = await _endpoint(client, provider, receiver.url)
    receiver.secret = created["secret"]
    queued = _event(provider)
    assert await deliver(integrations_consumer, sessions, queued) is Delivered.HANDLED
    assert await deliver(integrations_consumer, sessions, queued) is Delivered.DUPLICATE
    assert Delivered.DUPLICATE.wants_after_commit  # a crash may have cut the first short
    assert not Delivered.QUIET.wants_after_commit


async def test_event_types_filter_what_is_sent(client, provider, consume, receiver: Receiver):
    created = await _endpoint(client, provider, receiver.url, types=("booking.cancelled",))
    receiver.secret = created["secret"]
    booking = uuid.uuid4()
    await consume(_event(provider, booking_id=booking))
    assert receiver.hits == 0
    await consume(_event(provider, "booking.cancelled", booking_id=booking, version=2))
    assert [r.body["type"] for r in receiver.received] == ["booking.cancelled"]


async def test_receiver_down_for_a_while_gets_the_delivery_later(
    client, provider, consume, receiver: Receiver, fast_settings, worker_db
):
    created = await _endpoint(client, provider, receiver.url)
    receiver.secret = created["secret"]
    receiver.stop()
    await consume(_event(provider))
    [entry] = await _log(client, provider, created["id"])
    assert entry["status"] == "pending" and entry["attempts"] == 1
    assert entry["last_status_code"] is None and "Connect" in entry["last_error"]
    await asyncio.sleep(0.5)
    receiver.start()  # back on the same port
    await _sweep_until(fast_settings, worker_db, lambda: receiver.received)
    assert receiver.received[0].verified
    [entry] = await _log(client, provider, created["id"])
    assert entry["status"] == "delivered" and entry["attempts"] >= 2
    assert entry["attempt_log"][0]["status_code"] == 200
    assert entry["attempt_log"][-1]["error"]
    endpoint = await client.get(
        f"{BASE}/{provider.id}/webhooks/{created['id']}", headers=provider.headers
    )
    assert endpoint.json()["enabled"] and endpoint.json()["failing_since"] is None


async def test_slow_receiver_times_out_and_is_retried(
    client, provider, consume, receiver: Receiver, fast_settings, worker_db
):
    created = await _endpoint(client, provider, receiver.url)
    receiver.secret = created["secret"]
    receiver.delay = 2.5  # longer than the 1 s timeout
    await consume(_event(provider))
    [entry] = await _log(client, provider, created["id"])
    assert entry["status"] == "pending" and "Timeout" in entry["last_error"]
    assert entry["last_latency_ms"] >= 900
    receiver.delay = 0.3  # slow but in time
    await _sweep_until(
        fast_settings, worker_db, lambda: receiver.received and len(receiver.received) >= 1
    )
    [entry] = await _log(client, provider, created["id"])
    assert entry["status"] == "delivered" and entry["last_latency_ms"] >= 250


async def test_persistent_failure_disables_endpoint_and_emails_the_owner(
    client, provider, consume, receiver: Receiver, fast_settings, worker_db, settings
):
    created = await _endpoint(client, provider, receiver.url)
    receiver.secret = created["secret"]
    receiver.status = 500
    await consume(_event(provider))

    def disabled() -> bool:
        rows = query(settings.database_url, "SELECT enabled FROM integrations.webhook_endpoints")
        return rows[0][0] is False

    await _sweep_until(fast_settings, worker_db, disabled, within=30)
    [entry] = await _log(client, provider, created["id"])
    assert entry["status"] == "failed" and entry["attempts"] >= 3
    assert entry["last_status_code"] == 500
    assert entry["last_response_excerpt"].startswith("receiver says no")
    assert len(entry["last_response_excerpt"]) == 500
    endpoint = (
        await client.get(f"{BASE}/{provider.id}/webhooks/{created['id']}", headers=provider.headers)
    ).json()
    assert endpoint["enabled"] is False and endpoint["disabled_reason"]
    # new events are not queued for a disabled endpoint
    hits = receiver.hits
    await consume(_event(provider))
    assert receiver.hits == hits

    # the event reaches the notifications consumer, which e-mails the owner
    from calisera.core.consumers import deliver
    from calisera.notifications.consumers import consumer as notifications_consumer

    notifications = notifications_consumer(fast_settings.with_changes(dev_mailbox=True))
    [(disabled_event,)] = query(settings.database_url, "SELECT envelope FROM integrations.outbox")
    early = EventEnvelope.model_validate(disabled_event)
    with pytest.raises(Exception, match="not known here yet"):  # retried, not dropped
        await deliver(notifications, worker_db.sessionmaker, early)
    for (envelope,) in query(
        settings.database_url,
        "SELECT envelope FROM providers.outbox WHERE type = 'provider.created'",
    ):
        await deliver(notifications, worker_db.sessionmaker, EventEnvelope.model_validate(envelope))
    assert await deliver(notifications, worker_db.sessionmaker, early)
    types = [r[0] for r in query(settings.database_url, "SELECT type FROM integrations.outbox")]
    assert types == ["integration.webhook_disabled"]
    rows = query(
        settings.database_url,
        "SELECT recipient, template, payload FROM notifications.messages "
        "WHERE template = 'integration'",
    )
    assert [(r[0], r[1]) for r in rows] == [("owner@example.com", "integration")]
    from calisera.notifications.rendering import calendar_file, render

    rendered = render("integration", rows[0][2], fast_settings.public_url)
    assert receiver.url in rendered.subject and receiver.url in rendered.text
    assert calendar_file(rows[0][2], None) is None

    # switched on again, a failed delivery can be sent by hand
    receiver.status = 200
    on = await client.patch(
        f"{BASE}/{provider.id}/webhooks/{created['id']}",
        json={"enabled": True},
        headers=provider.headers,
    )
    assert on.json()["enabled"] and on.json()["failing_since"] is None
    again = await client.post(
        f"{BASE}/{provider.id}/webhooks/{created['id']}/deliveries/{entry['id']}/redeliver",
        headers=provider.headers,
    )
    assert again.status_code == 202 and again.json()["status"] == "pending"
    await _sweep_until(fast_settings, worker_db, lambda: receiver.received)
    assert receiver.received[0].verified
    assert receiver.received[0].headers["webhook-id"] == f"msg_{uuid.UUID(entry['event_id']).hex}"


async def test_redeliver_of_unknown_delivery_is_404(client, provider):
    created = await _endpoint(client, provider, "https://hooks.example.test/in")
    r = await client.post(
        f"{BASE}/{provider.id}/webhooks/{created['id']}/deliveries/{uuid.uuid4()}/redeliver",
        headers=provider.headers,
    )
    assert r.status_code == 404 and r.json()["type"].endswith("/webhook-delivery-not-found")


async def test_private_addresses_are_refused_unless_allowed(
    client, provider, receiver: Receiver, settings, worker_db
):
    from calisera.integrations.webhook_delivery import send_due

    created = await _endpoint(client, provider, receiver.url)
    strict = settings.with_changes(integrations_allow_private_networks=False)
    from calisera.core.consumers import deliver
    from calisera.integrations.consumers import consumer

    await deliver(consumer(strict), worker_db.sessionmaker, _event(provider))
    await send_due(strict, worker_db.sessionmaker)
    assert receiver.hits == 0
    [entry] = await _log(client, provider, created["id"])
    assert "non-public address" in entry["last_error"]


async def test_storm_of_creations_stops_at_the_limit(client, provider):
    from calisera.integrations.schemas import MAX_ENDPOINTS_PER_PROVIDER

    answers = await asyncio.gather(
        *(
            client.post(
                f"{BASE}/{provider.id}/webhooks",
                json={"url": f"https://hooks.example.test/{i}", "event_types": ["booking.created"]},
                headers=provider.headers,
            )
            for i in range(MAX_ENDPOINTS_PER_PROVIDER + 8)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == MAX_ENDPOINTS_PER_PROVIDER
    assert codes.count(409) == 8
    assert all(
        a.json()["type"].endswith("/webhook-endpoint-limit")
        for a in answers
        if a.status_code == 409
    )


async def test_concurrent_sweeps_send_each_delivery_once(
    client, provider, receiver: Receiver, fast_settings, worker_db
):
    from calisera.core.consumers import deliver
    from calisera.integrations.consumers import consumer
    from calisera.integrations.webhook_delivery import send_due

    created = await _endpoint(client, provider, receiver.url)
    receiver.secret = created["secret"]
    events = [_event(provider) for _ in range(12)]
    handler = consumer(fast_settings)
    for event in events:  # queued only: no after-commit send
        await deliver(handler, worker_db.sessionmaker, event)
    sent = await asyncio.gather(
        *(send_due(fast_settings, worker_db.sessionmaker, limit=5) for _ in range(4))
    )
    assert sum(sent) == 12
    ids = sorted(r.headers["webhook-id"] for r in receiver.received)
    assert ids == sorted(f"msg_{e.id.hex}" for e in events)
    assert all(r.verified for r in receiver.received)
