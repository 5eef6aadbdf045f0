"""Magic links through a real SMTP server (aiosmtpd) and the development mailbox."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from calisera.core.app import platform_of
from calisera.core.settings import Settings
from calisera.users.models import Account, MagicLink
from tests.conftest import ADMIN_TOKEN

LINK = re.compile(r"https://book\.example\.test(/auth/magic-link/callback\?token=[\w-]+)")


@pytest.fixture
def settings(settings: Settings, smtp) -> Settings:
    return settings.with_changes(smtp_url=smtp[1])


def _link_in(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    found = LINK.search(body)
    assert found, body
    return found.group(1)


async def _redeem(client, callback) -> dict:
    assert callback.status_code == 303, callback.text
    target = urlsplit(callback.headers["location"])
    assert target.path == "/bff/session"
    code = parse_qs(target.query)["code"][0]
    r = await client.post(
        "/auth/token",
        json={"grant_type": "sign_in_code", "code": code},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_magic_link_arrives_by_smtp_and_signs_in_once(client, smtp):
    mailbox, _ = smtp
    r = await client.post("/auth/magic-link", json={"email": "Ana@Example.com"})
    assert r.status_code == 202
    [message] = mailbox.to("ana@example.com")
    assert message["Subject"] == "Your Calisera sign-in link"
    link = _link_in(message)
    first = await client.get(link)
    assert parse_qs(urlsplit(first.headers["location"]).query)["return_to"] == ["/console"]
    tokens = await _redeem(client, first)
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["email"] == "ana@example.com"
    again = await client.get(link)
    assert again.status_code == 400
    assert again.json()["type"].endswith("/invalid-magic-link")


async def test_unknown_and_known_addresses_get_the_same_answer(client, smtp, sign_in):
    mailbox, _ = smtp
    await sign_in("known@example.com")
    known = await client.post("/auth/magic-link", json={"email": "known@example.com"})
    unknown = await client.post("/auth/magic-link", json={"email": "nobody@example.com"})
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert known.status_code == 202
    assert len(mailbox.to("known@example.com")) == len(mailbox.to("nobody@example.com")) == 1


async def test_links_are_stored_hashed(client, smtp, app):
    mailbox, _ = smtp
    await client.post("/auth/magic-link", json={"email": "ana@example.com"})
    token = parse_qs(urlsplit(_link_in(mailbox.to("ana@example.com")[0])).query)["token"][0]
    async with platform_of(app).db.sessionmaker() as session:
        stored = (await session.execute(sa.select(MagicLink.token_hash))).scalars().all()
    assert len(stored) == 1
    assert token.encode() not in stored[0] and stored[0] != token.encode()


async def test_expired_link_is_refused_and_creates_no_account(client, smtp, app):
    mailbox, _ = smtp
    await client.post("/auth/magic-link", json={"email": "late@example.com"})
    link = _link_in(mailbox.to("late@example.com")[0])
    platform = platform_of(app)
    async with platform.db.sessionmaker() as session, session.begin():
        await session.execute(
            sa.update(MagicLink).values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
        )
    r = await client.get(link)
    assert r.status_code == 400
    async with platform.db.sessionmaker() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0


async def test_link_lives_fifteen_minutes(client, smtp, app):
    await client.post("/auth/magic-link", json={"email": "ana@example.com"})
    async with platform_of(app).db.sessionmaker() as session:
        lifetime = await session.scalar(sa.select(MagicLink.expires_at - MagicLink.created_at))
    assert lifetime.total_seconds() == 15 * 60


async def test_bad_email_is_422_naming_the_field(client):
    r = await client.post("/auth/magic-link", json={"email": "not-an-address"})
    assert r.status_code == 422
    assert "email" in r.text


async def test_smtp_down_still_answers_202(client, smtp):
    mailbox, _ = smtp
    mailbox.refuse = True
    r = await client.post("/auth/magic-link", json={"email": "ana@example.com"})
    assert r.status_code == 202
    assert mailbox.to("ana@example.com") == []
