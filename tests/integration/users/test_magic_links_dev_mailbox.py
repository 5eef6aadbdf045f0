"""Under ``calisera up`` without SMTP, the sign-in link lands in the development mailbox."""

from __future__ import annotations

import re

import pytest

from calisera.core.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """As ``calisera up`` runs without an SMTP URL (``local_settings``)."""
    return settings.with_changes(dev_mailbox=True)


async def test_magic_link_lands_in_the_development_mailbox(client, admin_headers):
    r = await client.post("/auth/magic-link", json={"email": "ana@example.com"})
    assert r.status_code == 202
    box = await client.get("/api/v1/notifications/dev/mailbox", headers=admin_headers)
    [message] = [m for m in box.json()["items"] if m["recipient"] == "ana@example.com"]
    link = re.search(r"/auth/magic-link/callback\?token=[\w-]+", message["text"])
    assert link is not None
    followed = await client.get(link.group(0))
    assert followed.status_code == 303
    assert followed.headers["location"].startswith("/bff/session?code=")
