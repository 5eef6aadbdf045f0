"""A prefork worker (the chart's shape) serves the metrics of its pool processes.

Tasks run in the pool's children, so the worker's main process alone would report
nothing: with ``PROMETHEUS_MULTIPROC_DIR`` every process writes its samples there and
``--metrics-port`` serves their sum. Files left by an earlier run of the container are
cleared at start.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.pipeline.conftest import (
    BROKERS,
    ROOT,
    booking_event,
    free_port,
    insert_outbox,
    wait_for,
)

pytestmark = pytest.mark.timeout(120)


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.parametrize("broker", BROKERS[1:])  # a pool: the Kubernetes shape, on RabbitMQ
def test_a_prefork_worker_serves_the_sum_of_its_pool_processes(
    broker, make_pipeline, smtp, tmp_path
):
    mailbox, smtp_url = smtp
    pipeline = make_pipeline(broker, smtp_url=smtp_url)
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    (multiproc / "counter_99999.db").write_bytes(b"left by a dead container")
    port = free_port()
    env = {**pipeline.env(), "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    with (tmp_path / "worker.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "calisera.cli",
                "worker",
                "notifications",
                "--concurrency",
                "2",
                "--pool",
                "prefork",
                "--metrics-port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pipeline.workers.append(proc)  # stopped with the pipeline
    pipeline.start_relay()
    emails = [f"c{i}@example.test" for i in range(4)]
    insert_outbox(pipeline.settings.database_url, *(booking_event(email=e) for e in emails))
    for email in emails:
        wait_for(lambda e=email: mailbox.to(e), what=f"the e-mail to {email}")
    url = f"http://127.0.0.1:{port}/metrics"
    handled = (
        "calisera_consumer_events_total",
        (("consumer", "notifications"), ("outcome", "handled")),
    )
    wait_for(lambda: _samples(url).get(handled) == len(emails), what="the handled count")
    samples = _samples(url)
    timed = ("calisera_consumer_handle_seconds_count", (("consumer", "notifications"),))
    taken = sum(
        value
        for (name, labels), value in samples.items()
        if name == "calisera_consumer_events_total" and ("consumer", "notifications") in labels
    )
    assert samples[timed] == taken >= len(emails)  # every delivery taken is timed once
    sent = samples[("calisera_notifications_sent_total", (("channel", "email"),))]
    assert sent >= len(emails)  # the customers' (and the owners', when known)
    assert not (multiproc / "counter_99999.db").exists()
