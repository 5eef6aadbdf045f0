"""Console fixtures: a browser-like session signed in through the console's own
magic-link form and the development mailbox (no token minted behind the scenes)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from calisera.core.settings import Settings

LINK = re.compile(r"/auth/magic-link/callback\?token=[\w-]+")


@dataclass
class Browser:
    """What a browser holds: the session cookie, sent with every request."""

    client: httpx.AsyncClient
    cookie: dict[str, str]

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.get(url, headers=self.cookie, **kw)

    async def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        headers = {**self.cookie, **kw.pop("headers", {})}
        return await self.client.post(url, data=data or {}, headers=headers, **kw)


def nonce_of(html: str) -> str:
    found = re.search(r'name="nonce" value="([^"]+)"', html)
    assert found, "the form carries no nonce"
    return found.group(1)


@pytest.fixture
def sign_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> Callable[[str], Awaitable[Browser]]:
    async def links(email: str) -> set[str]:
        box = await client.get("/api/v1/notifications/dev/mailbox", headers=admin_headers)
        texts = [m["text"] for m in box.json()["items"] if m["recipient"] == email]
        return {m.group(0) for t in texts for m in LINK.finditer(t)}

    async def make(email: str) -> Browser:
        before = await links(email)
        sent = await client.post("/console/sign-in/magic-link", data={"email": email})
        assert sent.status_code == 200, sent.text
        assert "Check your e-mail" in sent.text
        [link] = (await links(email)) - before
        followed = await client.get(link)
        assert followed.status_code == 303
        landed = await client.get(followed.headers["location"])
        assert landed.status_code == 303 and landed.headers["location"] == "/console"
        name_value = landed.headers["set-cookie"].split(";", 1)[0]
        return Browser(client, {"Cookie": name_value})

    return make


async def onboard(browser: Browser, slug: str = "nora-hair") -> dict[str, Any]:
    """Walk the four onboarding screens; the provider as the API has it."""
    page = await browser.get("/console/welcome")
    form = {"nonce": nonce_of(page.text), "name": "Nora's Hair", "slug": slug}
    created = await browser.post("/console/welcome", {**form, "timezone": "Europe/Berlin"})
    assert created.status_code == 303, created.text
    page = await browser.get("/console/welcome/service")
    made = await browser.post(
        "/console/welcome/service",
        {"nonce": nonce_of(page.text), "name": "Haircut", "duration_minutes": "30"},
    )
    assert made.status_code == 303, made.text
    week = {f"day{d}.open": "on" for d in range(7)}
    week.update({f"day{d}.start": "00:00" for d in range(7)})
    week.update({f"day{d}.end": "23:55" for d in range(7)})
    hours = await browser.post("/console/welcome/hours", week)
    assert hours.status_code == 303, hours.text
    shared = await browser.get("/console/welcome/share")
    assert shared.status_code == 200
    providers = await browser.get("/bff/api/providers")
    [provider] = providers.json()["items"]
    return dict(provider)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """As ``calisera up`` runs without an SMTP URL: sign-in links land in the mailbox."""
    return settings.with_changes(dev_mailbox=True)
