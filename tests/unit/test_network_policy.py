"""Tenants' URLs (webhooks, CalDAV): special-use names are refused without a DNS query,
non-public addresses after one."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

import pytest

from calisera.integrations.network_policy import AddressRefused, check_url, check_url_blocking

STRICT: Any = SimpleNamespace(integrations_allow_private_networks=False)


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the resolver was asked")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize(
    "url",
    [
        "https://caldav.walk.example.test/calendars/x/",
        "https://hooks.example/in",
        "http://printer.local/",
        "https://nothing.invalid./",
        "http://app.localhost:8080/",
        "https://CALDAV.EXAMPLE.TEST/",
    ],
)
def test_a_special_use_name_is_refused_without_asking_the_resolver(url: str, no_dns) -> None:
    with pytest.raises(AddressRefused, match="special-use name"):
        check_url_blocking(STRICT, url)


async def test_the_async_check_refuses_them_too(no_dns) -> None:
    with pytest.raises(AddressRefused, match="special-use name"):
        await check_url(STRICT, "https://hooks.walk.example.test/in")


def test_loopback_is_refused_after_resolving() -> None:
    with pytest.raises(AddressRefused, match="non-public address"):
        check_url_blocking(STRICT, "http://127.0.0.1:9/")


def test_allowing_private_networks_allows_everything(no_dns) -> None:
    check_url_blocking(
        SimpleNamespace(integrations_allow_private_networks=True),  # type: ignore[arg-type]
        "https://caldav.walk.example.test/",
    )
