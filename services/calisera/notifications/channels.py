"""The ways a message leaves Calisera: SMTP e-mail (or the development mailbox), SMS
(Twilio-compatible HTTP API, or the log), web push (VAPID)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import httpx
import structlog
from aiosmtplib.email import flatten_message
from opentelemetry import trace
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from calisera.core.settings import Settings
from calisera.notifications.models import dev_mailbox

log = structlog.get_logger("calisera.notifications")
_tracer = trace.get_tracer("calisera.notifications")


class DeliveryFailed(Exception):
    """The channel refused or could not be reached; the message is retried later."""


@dataclass(frozen=True)
class Email:
    message_id: str
    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    ics: bytes | None = None
    ics_method: str | None = None

    def to_message(self) -> Message:
        """multipart/alternative (text, HTML), in multipart/mixed with the calendar file.

        Built with the ``email.mime`` classes: ``EmailMessage`` parses every header it is
        given through the header registry, which cost 2.2 ms per message (a tenth of the
        worker's CPU per booking); these take encoded headers as they are (0.35 ms).
        Bodies are quoted-printable UTF-8, names and subjects RFC 2047 words when not
        ASCII. An address that is not ASCII needs SMTPUTF8, which only ``EmailMessage``
        can write: those messages are built the slow way.
        """
        sender, recipient = _split_address(self.sender), _split_address(self.recipient)
        if not (sender[1].isascii() and recipient[1].isascii()):
            return self._international_message()
        body = MIMEMultipart("alternative")
        body.attach(MIMEText(self.text, "plain", _UTF8_QP))  # type: ignore[arg-type]
        body.attach(MIMEText(self.html, "html", _UTF8_QP))  # type: ignore[arg-type]
        msg: Message = body
        if self.ics is not None:
            msg = MIMEMultipart("mixed")
            msg.attach(body)
            invite = MIMEBase("text", "calendar", method=self._ics_method, charset="utf-8")
            invite.set_payload(self.ics)
            encoders.encode_base64(invite)
            invite.add_header("Content-Disposition", "attachment", filename=self._ics_name)
            msg.attach(invite)
        msg["Message-ID"] = self.message_id  # stable: a re-sent copy is recognisable
        msg["From"] = formataddr(sender, "utf-8")
        msg["To"] = formataddr(recipient, "utf-8")
        msg["Subject"] = (
            self.subject
            if self.subject.isascii()
            else Header(self.subject, "utf-8", header_name="Subject").encode()
        )
        return msg

    @property
    def _ics_method(self) -> str:
        return self.ics_method or "PUBLISH"

    @property
    def _ics_name(self) -> str:
        return "invite.ics" if self.ics_method != "CANCEL" else "cancel.ics"

    def _international_message(self) -> EmailMessage:
        msg = EmailMessage()
        msg["Message-ID"] = self.message_id
        msg["From"] = self.sender
        msg["To"] = self.recipient
        msg["Subject"] = self.subject
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        if self.ics is not None:
            msg.add_attachment(
                self.ics,
                maintype="text",
                subtype="calendar",
                filename=self._ics_name,
                params={"method": self._ics_method, "charset": "utf-8"},
            )
        return msg


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in the raw message, unlike base64


def _split_address(value: str) -> tuple[str, str]:
    """(display name, address) of ``Name <address>`` (the name may hold commas or
    quotes: it is what a provider typed) or of a bare address."""
    name, bracket, rest = value.rpartition(" <")
    if bracket and rest.endswith(">"):
        return name.strip(), rest[:-1]
    return parseaddr(value)


HandOver = Callable[[], Awaitable[None]]


class DeliveryUncertain(Exception):
    """The content went to the SMTP server and no definite answer came back (the
    connection broke or timed out after DATA): it may have been accepted, so the message
    is not sent again (at-most-once for that window, docs/delivery.md)."""


class EmailSender(Protocol):
    async def send(self, email: Email, hand_over: HandOver | None = None) -> None: ...


class SmtpSender:
    """``smtp://[user:pass@]host:port`` (``smtps://`` for implicit TLS).

    One SMTP transaction step by step, so that ``hand_over`` (the send ledger's commit)
    runs after the server accepted the envelope and before the content is transmitted:
    a failure before it is retried, an answerless one after it is :class:`DeliveryUncertain`.

    Connections are kept for the next message (a worker sends a confirmation and a
    provider e-mail per booking: a connection, its EHLO and its QUIT per message were a
    fifth of the worker's CPU). One found closed by the server when the next MAIL goes
    out is replaced at once: nothing was handed over yet.
    """

    def __init__(
        self, url: str, timeout: float = 10.0, *, idle_seconds: float = 5.0, max_idle: int = 4
    ):
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.use_tls = parts.scheme == "smtps"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self.idle_seconds = idle_seconds
        """Idle connections older than this are closed, not reused (well inside the
        minutes servers wait before they hang up on an idle client)."""
        self.max_idle = max_idle
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    async def send(self, email: Email, hand_over: HandOver | None = None) -> None:
        with _tracer.start_as_current_span(
            "smtp send",
            kind=trace.SpanKind.CLIENT,
            attributes={"server.address": self.host, "server.port": self.port},
        ):
            await self._send(email, hand_over)

    async def close(self) -> None:
        """QUIT every idle connection."""
        idle, self._idle = self._idle, []
        for client, _ in idle:
            await _quit(client)

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.use_tls,
            start_tls=False if not self.use_tls else None,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
        )
        await client.connect()
        return client

    async def _kept(self) -> aiosmtplib.SMTP | None:
        now = time.monotonic()
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and now - since < self.idle_seconds:
                return client
            await _quit(client)
        return None

    async def _keep(self, client: aiosmtplib.SMTP) -> None:
        if len(self._idle) < self.max_idle:
            self._idle.append((client, time.monotonic()))
        else:
            await _quit(client)

    async def _envelope(
        self, client: aiosmtplib.SMTP, sender: str, recipient: str
    ) -> tuple[bool, str]:
        options, utf8, cte = await _mail_options(client, sender + recipient)
        await client.mail(sender, options=options)
        await client.rcpt(recipient)
        return utf8, cte

    async def _open_envelope(
        self, sender: str, recipient: str
    ) -> tuple[aiosmtplib.SMTP, bool, str]:
        """MAIL and RCPT on a kept connection, or on a new one when there is none or the
        server closed it meanwhile (nothing was handed over, so trying again is safe)."""
        kept = await self._kept()
        if kept is not None:
            try:
                return (kept, *await self._envelope(kept, sender, recipient))
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                await _quit(kept)
        client = await self._connect()
        try:
            return (client, *await self._envelope(client, sender, recipient))
        except BaseException:
            await _quit(client)
            raise

    async def _send(self, email: Email, hand_over: HandOver | None) -> None:
        where = f"SMTP {self.host}:{self.port}"
        sender, recipient = parseaddr(email.sender)[1], parseaddr(email.recipient)[1]
        handed_over = False
        client: aiosmtplib.SMTP | None = None
        try:
            client, utf8, cte = await self._open_envelope(sender, recipient)
            if hand_over is not None:
                await hand_over()
            handed_over = True
            await client.data(flatten_message(email.to_message(), utf8=utf8, cte_type=cte))
            kept, client = client, None
            await self._keep(kept)
        except aiosmtplib.SMTPResponseException as exc:  # a definite answer: not accepted
            raise DeliveryFailed(f"{where}: {exc}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            if handed_over:
                raise DeliveryUncertain(f"{where}: no answer after the content: {exc}") from exc
            raise DeliveryFailed(f"{where}: {exc}") from exc
        finally:
            if client is not None:  # after a refusal or a failure: not reused
                await _quit(client)


async def _quit(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(aiosmtplib.SMTPException, OSError):
        if client.is_connected:
            await client.quit()
    client.close()


async def _mail_options(client: aiosmtplib.SMTP, addresses: str) -> tuple[list[str], bool, str]:
    """MAIL options and flattening as ``aiosmtplib.send`` chooses them."""
    if client.is_ehlo_or_helo_needed:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            await client.helo()
    options: list[str] = []
    utf8 = not addresses.isascii()
    if utf8:
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("non-ASCII address and no SMTPUTF8")
        options.append("SMTPUTF8")
    if client.supports_extension("8BITMIME"):
        options.append("BODY=8BITMIME")
        return options, utf8, "8bit"
    return options, utf8, "7bit"


class DevMailbox:
    """Development: e-mail is stored in ``notifications.dev_mailbox`` (``calisera up``
    without ``CALISERA_SMTP_URL``) and shown at ``/api/v1/notifications/dev/mailbox``."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        self.sessionmaker = sessionmaker

    async def send(self, email: Email, hand_over: HandOver | None = None) -> None:
        # exactly once already: the row is keyed by Message-ID, no hand-over window
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                insert(dev_mailbox)
                .values(
                    message_id=email.message_id,
                    sender=email.sender,
                    recipient=email.recipient,
                    subject=email.subject,
                    text=email.text,
                    html=email.html,
                    raw=email.to_message().as_string(),
                )
                .on_conflict_do_nothing(index_elements=["message_id"])
            )


_smtp_senders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SmtpSender]] = (
    weakref.WeakKeyDictionary()
)
"""One sender (its kept connections) per event loop and URL: a connection belongs to
the loop that opened it (the worker's loops, its sweep thread's, a server's)."""


def email_sender(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> EmailSender:
    """SMTP with ``CALISERA_SMTP_URL``; the development mailbox under ``calisera up``;
    otherwise e-mail is off and sending fails (nothing is stored)."""
    if settings.smtp_url:
        senders = _smtp_senders.setdefault(asyncio.get_running_loop(), {})
        sender = senders.get(settings.smtp_url)
        if sender is None:
            sender = senders[settings.smtp_url] = SmtpSender(settings.smtp_url)
        return sender
    if settings.dev_mailbox:
        return DevMailbox(sessionmaker)
    raise DeliveryFailed("e-mail is off: no CALISERA_SMTP_URL")


class SmsGateway(Protocol):
    async def send(self, to: str, body: str) -> None: ...


class TwilioSms:
    """A Twilio-compatible API: ``POST {base}/Messages.json`` with ``From``, ``To``, ``Body``
    and basic auth. ``CALISERA_SMS_URL=https://SID:TOKEN@api.twilio.com/2010-04-01/
    Accounts/SID?from=+15550001111``."""

    def __init__(self, url: str, timeout: float = 10.0):
        parts = urlsplit(url)
        self.sender = parse_qs(parts.query).get("from", [""])[0]
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        self.endpoint = f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}/Messages.json"
        self.auth = (
            (unquote(parts.username or ""), unquote(parts.password or ""))
            if parts.username
            else None
        )
        self.timeout = timeout

    async def send(self, to: str, body: str) -> None:
        try:
            auth = httpx.BasicAuth(*self.auth) if self.auth else None
            async with httpx.AsyncClient(timeout=self.timeout, auth=auth) as http:
                response = await http.post(
                    self.endpoint,
                    data={"From": self.sender, "To": to, "Body": body},
                )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"SMS gateway: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryFailed(f"SMS gateway answered {response.status_code}: {response.text}")


class LogSms:
    """Development: SMS are written to the log."""

    async def send(self, to: str, body: str) -> None:
        log.info("sms_logged", to=to, body=body)


def sms_gateway(url: str | None) -> SmsGateway:
    return TwilioSms(url) if url else LogSms()


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


async def send_push(
    target: PushTarget, payload: dict[str, Any], private_pem: str, contact: str
) -> int:
    """Encrypted web push to one subscription; the push service's HTTP status (410 = gone)."""
    from pywebpush import WebPushException, webpush

    def post() -> int:
        try:
            response = webpush(
                subscription_info={
                    "endpoint": target.endpoint,
                    "keys": {"p256dh": target.p256dh, "auth": target.auth},
                },
                data=json.dumps(payload),
                vapid_private_key=_der_b64(private_pem),
                vapid_claims={"sub": contact},
                timeout=10,
            )
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                return int(status)
            raise DeliveryFailed(f"web push: {exc}") from exc
        except OSError as exc:
            raise DeliveryFailed(f"web push: {exc}") from exc
        return int(getattr(response, "status_code", 201))

    return await asyncio.to_thread(post)


def _der_b64(private_pem: str) -> str:
    """pywebpush takes the key as base64 DER (or a file path)."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.urlsafe_b64encode(der).decode().rstrip("=")


def new_vapid_keys() -> tuple[str, str]:
    """(private key PEM, public key as the browser's ``applicationServerKey``)."""
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    vapid = Vapid()
    vapid.generate_keys()
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    public = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return vapid.private_pem().decode(), public
