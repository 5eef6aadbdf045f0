"""Passkeys in real headless Chromium with its virtual authenticator (the DevTools
WebAuthn domain through Playwright's CDP session), against the platform on a loopback
port: sign in by e-mail link, register two named passkeys from two authenticators,
sign out, sign in with the first one; remove it, and it signs nobody in any more.

The site is ``http://localhost:<port>``: WebAuthn needs a secure context and a domain
as relying-party id (``localhost`` is both; ``127.0.0.1`` is neither an RP id)."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from calisera.core.settings import Settings
from tests.e2e.processes import free_port

pytestmark = pytest.mark.timeout(300)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian chromium not installed: apt-get install chromium")
    return path


@pytest.fixture
def site(settings: Settings) -> Iterator[str]:
    from calisera.assembly import build_app

    port = free_port()
    base = f"http://localhost:{port}"
    app = build_app(settings.with_changes(public_url=base, dev_mailbox=True))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="calisera-passkeys-e2e", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _magic_link(base: str, email: str) -> str:
    deadline = time.monotonic() + 30
    loopback = base.replace("localhost", "127.0.0.1")
    while time.monotonic() < deadline:
        items = httpx.get(f"{loopback}/api/v1/notifications/dev/mailbox").json()["items"]
        for message in items:
            found = re.search(r"/auth/magic-link/callback\?token=[\w-]+", message["text"])
            if message["recipient"] == email and found:
                return found.group(0)
        time.sleep(0.3)
    raise AssertionError("no sign-in e-mail arrived")


async def _me(page: Any) -> Any:
    return await page.evaluate(
        "fetch('/bff/me', {credentials: 'same-origin'}).then(r => r.ok ? r.json() : r.status)"
    )


async def _sign_out(page: Any, site: str) -> None:
    """As the console's sign-out does (the account screen needs a booking page first)."""
    status = await page.evaluate(
        "fetch('/bff/logout', {method: 'POST', headers: {'X-Calisera-CSRF': '1'}})"
        ".then(r => r.status)"
    )
    assert status in (200, 204), status
    await page.goto(f"{site}/console")
    await page.wait_for_url(re.compile(r"/console/sign-in$"))


async def test_a_provider_signs_in_with_a_passkey_on_their_phone(chromium: str, site: str) -> None:
    from playwright.async_api import async_playwright

    email = "pia@example.com"
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            page = await context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            cdp = await context.new_cdp_session(page)
            await cdp.send("WebAuthn.enable", {"enableUI": False})
            phone = (
                await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
            )["authenticatorId"]

            # --- signed in by e-mail link ------------------------------------------
            await page.goto(f"{site}/console/sign-in")
            await page.get_by_label("E-mail address").fill(email)
            await page.get_by_role("button", name="Send me a link").click()
            await page.get_by_role("heading", name="Check your e-mail").wait_for()
            await page.goto(site + _magic_link(site, email))
            await page.wait_for_url(re.compile(r"/console/welcome$"))

            # --- two named passkeys, from two authenticators -------------------------
            await page.goto(f"{site}/console/account/passkeys")
            assert await page.get_by_text("No passkeys yet.").is_visible()
            await page.get_by_label("Name").fill("Phone")
            await page.get_by_role("button", name="Add a passkey").click()
            await page.get_by_text("Phone", exact=True).wait_for()
            [phone_key] = (await cdp.send("WebAuthn.getCredentials", {"authenticatorId": phone}))[
                "credentials"
            ]
            assert phone_key["isResidentCredential"]

            await cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": phone})
            laptop = (
                await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
            )["authenticatorId"]
            await page.get_by_label("Name").fill("Laptop")
            await page.get_by_role("button", name="Add a passkey").click()
            await page.get_by_text("Laptop", exact=True).wait_for()
            listed = await page.evaluate("fetch('/bff/api/users/me/passkeys').then(r => r.json())")
            assert [p["name"] for p in listed["items"]] == ["Phone", "Laptop"]

            # --- signed out, back in with the phone's passkey -----------------------
            await _sign_out(page, site)
            assert await _me(page) == 401
            await cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": laptop})
            phone = (
                await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
            )["authenticatorId"]
            await cdp.send(
                "WebAuthn.addCredential", {"authenticatorId": phone, "credential": phone_key}
            )
            await page.get_by_role("button", name="Sign in with a passkey").click()
            await page.wait_for_url(re.compile(r"/console/welcome$"))
            me = await _me(page)
            assert me["email"] == email, me
            sessions = await page.evaluate(
                "fetch('/bff/api/users/me/sessions').then(r => r.json())"
            )
            assert "passkey" in [s["method"] for s in sessions["items"]]

            # --- the phone's passkey removed: it signs nobody in ---------------------
            await page.goto(f"{site}/console/account/passkeys")
            await page.get_by_role("button", name="Remove the passkey Phone").click()
            await page.wait_for_url(re.compile(r"/console/account/passkeys$"))
            assert not await page.get_by_text("Phone", exact=True).is_visible()
            await _sign_out(page, site)
            await page.get_by_role("button", name="Sign in with a passkey").click()
            await page.get_by_text("not registered here").wait_for()
            assert await _me(page) == 401
        finally:
            await browser.close()
    expected = ("status of 400", "status of 401")  # the refused passkey; _me signed out
    unexpected = [p for p in problems if not any(e in p for e in expected)]
    assert not unexpected, unexpected
