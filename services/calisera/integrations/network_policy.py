"""Which addresses tenants' URLs (webhook endpoints, CalDAV calendars) may reach.

Unless ``CALISERA_INTEGRATIONS_ALLOW_PRIVATE_NETWORKS`` is on, a host that resolves to
a loopback, private, link-local or otherwise non-global address is refused before
anything is sent, so an endpoint cannot be pointed at the platform's own network.
(A host that changes its answer between this check and the connection is not caught.)
A special-use name that never denotes a host on the public internet (RFC 6761/2606:
``.test``, ``.example``, ``.invalid``, ``.localhost``, ``.local``) is refused without
asking the resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from calisera.core.settings import Settings


class AddressRefused(Exception):
    """The URL may not be called from here."""


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


SPECIAL_USE_SUFFIXES = ("test", "example", "invalid", "localhost", "local")
"""Top-level names no public host has (RFC 2606, RFC 6761, RFC 6762 for ``.local``)."""


def _special_use(host: str) -> None:
    label = host.rstrip(".").rsplit(".", 1)[-1].lower()
    if label in SPECIAL_USE_SUFFIXES:
        raise AddressRefused(f"{host} is a special-use name, not a public host")


def _judge(host: str, infos: list[tuple[object, ...]]) -> None:
    for info in infos:
        sockaddr = info[4]
        assert isinstance(sockaddr, tuple)
        address = ipaddress.ip_address(sockaddr[0])
        if not address.is_global:
            raise AddressRefused(f"{host} resolves to a non-public address ({address})")


async def check_url(settings: Settings, url: str) -> None:
    if settings.integrations_allow_private_networks:
        return
    host, port = _target(url)
    _special_use(host)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port)
    except OSError as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
    _judge(host, list(infos))


def check_url_blocking(settings: Settings, url: str) -> None:
    """:func:`check_url` for code running in a thread (the CalDAV client)."""
    if settings.integrations_allow_private_networks:
        return
    host, port = _target(url)
    _special_use(host)
    try:
        infos = socket.getaddrinfo(host, port)
    except OSError as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
    _judge(host, list(infos))
