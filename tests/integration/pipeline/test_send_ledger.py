"""The send ledger: a worker that dies after the SMTP server accepted a message, before
it recorded the send, does not make a second copy (docs/delivery.md).

The worker is a real ``calisera worker notifications`` armed with the fault point
``notifications.after_smtp_accept`` (it SIGKILLs itself right after the server's 250 to
the content); its successor runs unarmed. The SMTP server is a real aiosmtpd.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.pipeline.conftest import (
    BROKERS,
    booking_event,
    insert_outbox,
    query,
    wait_for,
)

ARMED = {"CALISERA_FAULT_POINTS": "notifications.after_smtp_accept"}
# (on RabbitMQ the task runs in a prefork pool process; the fault point kills that
# process only. The table queue's worker handles deliveries itself: it dies whole.)


def _message(db: str, event_id: object) -> tuple[str, int, object, str | None]:
    [row] = query(
        db,
        "SELECT status, attempts, handed_over_at, last_error FROM notifications.messages "
        "WHERE event_id = %s",
        event_id,
    )
    return row


def _status(db: str, event_id: object) -> str | None:
    rows = query(db, "SELECT status FROM notifications.messages WHERE event_id = %s", event_id)
    return rows[0][0] if rows else None


@pytest.mark.parametrize("broker", BROKERS)
def test_worker_killed_after_smtp_accepted_sends_no_second_copy(broker, make_pipeline, smtp):
    mailbox, smtp_url = smtp
    pipeline = make_pipeline(broker, smtp_url=smtp_url)
    armed = pipeline.start_worker(env=ARMED)
    pipeline.start_relay()
    event = booking_event(email="ledger@example.test")
    marker = booking_event(email="after@example.test")
    db = pipeline.settings.database_url
    insert_outbox(db, event)

    wait_for(lambda: mailbox.to("ledger@example.test"), what="the accepted e-mail")
    if broker == "rabbitmq":
        # the pool process died at the fault point, by SIGKILL; then the whole worker goes
        wait_for(lambda: "signal 9" in pipeline.logs(), what="the pool process's death")
    else:  # the table queue's worker has no pool: it died itself
        wait_for(lambda: armed.poll() is not None, what="the worker's death")
    pipeline.kill_worker(armed)
    status, attempts, handed_over_at, _ = _message(db, event.id)
    # still leased, or already settled by a restarted pool process's sweep; never re-sent
    assert status in ("sending", "uncertain") and attempts == 1 and handed_over_at is not None

    pipeline.start_worker()  # unarmed; the relay re-publishes the unconfirmed event
    wait_for(lambda: _message(db, event.id)[0] == "uncertain", timeout=40, what="uncertain")
    insert_outbox(db, marker)  # something later, to know the successor is working
    wait_for(lambda: mailbox.to("after@example.test"), timeout=40, what="the later e-mail")
    time.sleep(2 * pipeline.settings.relay_visibility_timeout)  # sweeps and re-publication
    assert len(mailbox.to("ledger@example.test")) == 1
    status, attempts, _, error = _message(db, event.id)
    assert (status, attempts) == ("uncertain", 1)
    assert error and "not sent again" in error
    assert _message(db, marker.id)[0] == "sent"


def test_worker_killed_while_content_unanswered_is_uncertain_not_resent(make_pipeline, smtp):
    """Killed during DATA (the server has the content, its answer is held): the worker
    cannot know whether it was accepted, so it is not sent again (at-most-once)."""
    mailbox, smtp_url = smtp
    mailbox.hold_first = 20.0
    pipeline = make_pipeline("embedded", smtp_url=smtp_url)
    pipeline.start_worker()
    pipeline.start_relay()
    event = booking_event(email="held@example.test")
    db = pipeline.settings.database_url
    insert_outbox(db, event)
    assert mailbox.connected.wait(30), pipeline.logs()
    assert _message(db, event.id)[2] is not None  # handed over before the content
    pipeline.kill_worker(pipeline.workers[0])

    pipeline.start_worker()
    wait_for(lambda: _message(db, event.id)[0] == "uncertain", timeout=40, what="uncertain")
    time.sleep(2 * pipeline.settings.relay_visibility_timeout)
    assert mailbox.to("held@example.test") == []
    assert _message(db, event.id)[:2] == ("uncertain", 1)


def test_connection_lost_after_the_content_is_uncertain_at_once(make_pipeline, smtp):
    """The server took the content and hung up without answering: the worker (alive)
    cannot know either, so the message is not sent again."""
    mailbox, smtp_url = smtp
    mailbox.drop_first_content = True
    pipeline = make_pipeline("embedded", smtp_url=smtp_url)
    pipeline.start_worker()
    pipeline.start_relay()
    event = booking_event(email="dropped@example.test")
    marker = booking_event(email="next@example.test")
    db = pipeline.settings.database_url
    insert_outbox(db, event)
    wait_for(lambda: _status(db, event.id) == "uncertain", timeout=40, what="uncertain")
    _, attempts, _, error = _message(db, event.id)
    assert attempts == 1 and error and "no answer after the content" in error
    insert_outbox(db, marker)
    wait_for(lambda: mailbox.to("next@example.test"), timeout=40, what="the next e-mail")
    time.sleep(2 * pipeline.settings.relay_visibility_timeout)
    assert mailbox.to("dropped@example.test") == []
    assert _message(db, event.id)[:2] == ("uncertain", 1)


def test_fault_points_are_off_by_default():
    import calisera.core.faults as faults

    assert frozenset() == faults._ARMED  # the test process itself was never armed
    faults.fault_point("notifications.after_smtp_accept")  # returns: nothing armed
