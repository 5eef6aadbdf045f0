"""End to end through real processes: outbox -> relay -> broker -> worker -> SMTP.

Each test runs on the table queue (no broker: ``relay.deliveries`` is the queue, the
default of ``calisera up``) and on RabbitMQ; the worker is a real ``calisera worker
notifications`` subprocess.
"""

from __future__ import annotations

import pytest

from tests.integration.pipeline.conftest import (
    BROKERS,
    booking_event,
    insert_outbox,
    query,
    wait_for,
)


@pytest.mark.parametrize("broker", BROKERS)
def test_booking_created_emails_customer_with_invite(broker, make_pipeline, smtp):
    mailbox, smtp_url = smtp
    pipeline = make_pipeline(broker, smtp_url=smtp_url)
    pipeline.start_worker()
    pipeline.start_relay()
    event = booking_event()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    event.traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"  # the booking request's trace
    insert_outbox(pipeline.settings.database_url, event)

    [mail] = wait_for(lambda: mailbox.to("ana@example.test"), what="the confirmation e-mail")
    assert str(mail["Subject"]).strip().startswith("Booking confirmed: Haircut with Studio Aurora")
    parts = {p.get_content_type(): p for p in mail.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    booking_id = event.data["booking_id"]
    assert f"https://book.example.test/p/{event.provider_id}/manage/{booking_id}" in text
    # shown in the customer's zone (São Paulo), not the provider's (Berlin)
    assert "(America/Sao_Paulo)" in text
    ics = parts["text/calendar"]
    assert ics.get_param("method") == "REQUEST"
    body = ics.get_payload(decode=True).decode()
    assert f"UID:{booking_id}@calisera" in body
    assert "SEQUENCE:1" in body
    assert "text/html" in parts

    # the delivery is confirmed, so the relay stops re-publishing it
    db = pipeline.settings.database_url
    wait_for(
        lambda: query(
            db,
            "SELECT 1 FROM relay.deliveries WHERE event_id = %s AND confirmed_at IS NOT NULL",
            event.id,
        ),
        what="confirmation",
    )
    [(status, attempts)] = query(
        db, "SELECT status, attempts FROM notifications.messages WHERE event_id = %s", event.id
    )
    assert (status, attempts) == ("sent", 1)
    # the worker continued the producer's trace (traceparent header -> OpenTelemetry context)
    wait_for(
        lambda: any(
            "event_consumed" in line and f"trace_id={trace_id}" in line
            for line in pipeline.logs().splitlines()
        ),
        what="the consumer's span in the producer's trace",
    )


@pytest.mark.parametrize("broker", BROKERS)
def test_duplicated_event_sends_one_email(broker, make_pipeline, smtp):
    mailbox, smtp_url = smtp
    pipeline = make_pipeline(broker, smtp_url=smtp_url)
    pipeline.start_worker()
    pipeline.start_relay()
    event = booking_event(email="dup@example.test")
    insert_outbox(pipeline.settings.database_url, event)
    wait_for(lambda: mailbox.to("dup@example.test"), what="first e-mail")
    marker = booking_event(email="marker@example.test")
    if broker == "embedded":
        # a lease that ran out after the e-mail went but before the confirmation (a
        # worker killed in between): the same delivery is taken again, twice
        db = pipeline.settings.database_url
        mine = "event_id = %s AND consumer = 'notifications' AND confirmed_at IS NOT NULL"
        wait_for(
            lambda: query(db, f"SELECT 1 FROM relay.deliveries WHERE {mine}", event.id),
            what="the confirmation",
        )
        for _ in range(2):
            query(
                db,
                "UPDATE relay.deliveries SET confirmed_at = NULL, next_attempt_at = now() "
                "WHERE event_id = %s AND consumer = 'notifications' RETURNING 1",
                event.id,
            )
            wait_for(
                lambda: query(db, f"SELECT 1 FROM relay.deliveries WHERE {mine}", event.id),
                what="the second confirmation",
            )
        insert_outbox(db, marker)
    else:
        # the same event published again, straight onto the queue (as after a relay crash)
        from calisera.core.queue import create_celery
        from calisera.processes.relay import celery_publisher

        publish = celery_publisher(create_celery(pipeline.settings), pipeline.settings)
        publish("notifications", event.model_dump(mode="json"))
        publish("notifications", event.model_dump(mode="json"))
        publish("notifications", marker.model_dump(mode="json"))
    wait_for(lambda: mailbox.to("marker@example.test"), what="the later marker e-mail")
    assert len(mailbox.to("dup@example.test")) == 1


@pytest.mark.parametrize("broker", BROKERS)
def test_worker_killed_mid_send_loses_nothing(broker, make_pipeline, smtp):
    mailbox, smtp_url = smtp
    mailbox.hold_first_rcpt = 20.0  # the envelope hangs: nothing was handed over yet
    pipeline = make_pipeline(broker, smtp_url=smtp_url)
    pipeline.start_worker()
    pipeline.start_relay()
    event = booking_event(email="kill@example.test")
    insert_outbox(pipeline.settings.database_url, event)
    assert mailbox.connected.wait(30), pipeline.logs()
    pipeline.kill_worker(pipeline.workers[0])  # SIGKILL, the whole process group

    pipeline.start_worker()
    [mail] = wait_for(lambda: mailbox.to("kill@example.test"), timeout=40, what="the e-mail")
    assert str(mail["Subject"]).strip().startswith("Booking confirmed")
    wait_for(
        lambda: query(
            pipeline.settings.database_url,
            "SELECT 1 FROM notifications.messages WHERE event_id = %s AND status = 'sent'",
            event.id,
        ),
        what="message marked sent",
    )
    assert len(mailbox.to("kill@example.test")) == 1
