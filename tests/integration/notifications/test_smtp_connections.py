"""The SMTP sender keeps its connection for the next message, against a real server
(aiosmtpd): one connection for many messages, a new one after the server went away, after
a refusal and after the idle limit, and never a lost or doubled message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from calisera.notifications.channels import DeliveryFailed, Email, SmtpSender
from tests.integration.pipeline.conftest import Mailbox, free_port


@dataclass
class CountingMailbox(Mailbox):
    """Counts the connections (one EHLO each) and refuses one chosen recipient."""

    greetings: int = 0
    refused: str = "refused@example.test"

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == self.refused:
            return "550 5.1.1 no such mailbox"
        return await super().handle_RCPT(server, session, envelope, address, options)


def _email(n: int, recipient: str = "customer@example.test") -> Email:
    return Email(
        message_id=f"<{n}@calisera>",
        sender="Studio via Calisera <no-reply@calisera.test>",
        recipient=recipient,
        subject=f"Booking {n}",
        text=f"text {n}",
        html=f"<p>html {n}</p>",
    )


@dataclass
class Server:
    """An aiosmtpd server that can go away and come back on the same port."""

    mailbox: CountingMailbox
    port: int
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server(CountingMailbox(), free_port())
    running.start()
    yield running
    running.stop()


async def test_one_connection_carries_many_messages(server: Server) -> None:
    mailbox = server.mailbox
    sender = SmtpSender(server.url)
    for n in range(10):
        await sender.send(_email(n))
    await sender.close()
    assert sorted(m["Message-ID"] for m in mailbox.messages) == sorted(
        f"<{n}@calisera>" for n in range(10)
    )
    assert mailbox.greetings == 1


async def test_a_server_that_went_away_gets_a_new_connection(server: Server) -> None:
    mailbox = server.mailbox
    sender = SmtpSender(server.url)
    await sender.send(_email(1))
    server.stop()  # hangs up on the kept connection
    server.start()
    await asyncio.sleep(0.1)
    await sender.send(_email(2))
    await sender.close()
    assert [m["Message-ID"] for m in mailbox.messages] == ["<1@calisera>", "<2@calisera>"]
    assert mailbox.greetings == 2


async def test_a_refusal_is_a_failure_and_its_connection_is_not_reused(server: Server) -> None:
    mailbox = server.mailbox
    sender = SmtpSender(server.url)
    await sender.send(_email(1))
    with pytest.raises(DeliveryFailed, match="550"):
        await sender.send(_email(2, recipient=mailbox.refused))
    await sender.send(_email(3))
    await sender.close()
    assert [m["Message-ID"] for m in mailbox.messages] == ["<1@calisera>", "<3@calisera>"]
    assert mailbox.greetings == 2


async def test_an_idle_connection_is_closed_not_reused(server: Server) -> None:
    mailbox = server.mailbox
    sender = SmtpSender(server.url, idle_seconds=0.0)
    await sender.send(_email(1))
    await sender.send(_email(2))
    await sender.close()
    assert len(mailbox.messages) == 2
    assert mailbox.greetings == 2


async def test_a_server_that_is_down_is_a_failure_then_recovers(server: Server) -> None:
    mailbox = server.mailbox
    sender = SmtpSender(server.url, timeout=2.0)
    await sender.send(_email(1))
    server.stop()
    with pytest.raises(DeliveryFailed):
        await sender.send(_email(2))
    server.start()
    await sender.send(_email(2))
    await sender.close()
    assert [m["Message-ID"] for m in mailbox.messages] == ["<1@calisera>", "<2@calisera>"]
