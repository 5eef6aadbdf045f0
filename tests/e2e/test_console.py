"""A provider runs their business from a phone, in real headless Chromium against a real
``calisera up``: magic-link sign-in through the development mailbox, onboarding, a
service, hours, sharing; a customer books on the public page; the provider sees the
booking and cancels it, and blocks time that then disappears from the page.

axe-core (pinned, :mod:`tests.peers.axe`) checks every console screen for serious or
critical violations. Screenshots of the main screens at phone (390x844) and desktop
(1280x900) width go to ``docs/screenshots/`` (``CALISERA_SCREENSHOTS`` overrides).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import ROOT, start_up, stop, up_port, wait_healthy
from tests.peers.axe import axe_source, blocking_violations
from tests.peers.oidc_server import PeerMissing

pytestmark = pytest.mark.timeout(420)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHOTS = Path(os.environ.get("CALISERA_SCREENSHOTS") or ROOT / "docs" / "screenshots")
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
});
"""


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian chromium not installed: apt-get install chromium")
    return path


@pytest.fixture
def axe() -> str:
    try:
        return axe_source()
    except PeerMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture
def up(tmp_path: Path, database_url: str) -> Iterator[str]:
    """``calisera up`` on a free loopback port (the machine's PostgreSQL, a fresh database)."""
    port = up_port()
    proc = start_up(tmp_path / "data", port, env={"DATABASE_URL": database_url})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, timeout=150)  # a shared, busy machine
        yield base
    finally:
        stop(proc)


def _magic_link(base: str, email: str) -> str:
    """The newest sign-in link for ``email`` in the development mailbox."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = httpx.get(f"{base}/api/v1/notifications/dev/mailbox").json()["items"]
        for message in items:
            found = re.search(r"/auth/magic-link/callback\?token=[\w-]+", message["text"])
            if message["recipient"] == email and found:
                return found.group(0)
        time.sleep(0.3)
    raise AssertionError("no sign-in e-mail arrived")


class Screens:
    """Checks each screen with axe and keeps its screenshot."""

    def __init__(self, axe: str):
        self.axe = axe
        self.violations: dict[str, list[str]] = {}
        self.too_wide: dict[str, int] = {}
        SHOTS.mkdir(parents=True, exist_ok=True)

    async def check(self, page: Any, name: str, width: str = "phone") -> None:
        await page.wait_for_load_state("load")
        found = await blocking_violations(page, self.axe)
        if found:
            self.violations[f"{name} ({width})"] = found
        scroll_width = await page.evaluate("document.documentElement.scrollWidth")
        if width == "phone" and scroll_width > PHONE["width"]:
            self.too_wide[name] = scroll_width  # sideways scrolling on a phone
        await page.screenshot(path=str(SHOTS / f"console-{name}-{width}.png"), full_page=True)


async def test_a_provider_runs_their_business_from_a_phone(
    chromium: str, axe: str, up: str
) -> None:
    from playwright.async_api import async_playwright

    base = up
    screens = Screens(axe)
    problems: list[str] = []
    foreign: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            phone = await browser.new_context(
                viewport=PHONE,
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                timezone_id="Europe/Berlin",
                locale="en-GB",
            )
            await phone.add_init_script(CSP_REPORTER)
            page = await phone.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("request", lambda r: None if r.url.startswith(base) else foreign.append(r.url))

            # --- sign in by magic link -----------------------------------------------
            await page.goto(f"{base}/console")
            await page.wait_for_url(re.compile(r"/console/sign-in$"))
            await screens.check(page, "sign-in")
            await page.get_by_label("E-mail address").fill("nora@example.com")
            await page.get_by_role("button", name="Send me a link").click()
            await page.get_by_role("heading", name="Check your e-mail").wait_for()
            await page.goto(base + _magic_link(base, "nora@example.com"))

            # --- onboarding: page, service, hours, share -----------------------------
            await page.wait_for_url(re.compile(r"/console/welcome$"))
            assert await page.get_by_label("Time zone").input_value() == "Europe/Berlin"
            await page.get_by_label("Business name").fill("Nora Hair")
            await page.get_by_text("/p/nora-hair is free.").wait_for()
            assert await page.get_by_label("Page address").input_value() == "nora-hair"
            await screens.check(page, "onboarding")
            await page.get_by_role("button", name="Next: a first service").click()
            await page.wait_for_url(re.compile(r"/console/welcome/service$"))
            await page.get_by_label("Service name").fill("Haircut")
            await page.get_by_label("Length (minutes)").fill("30")
            await page.get_by_role("button", name="Next: your hours").click()
            await page.wait_for_url(re.compile(r"/console/welcome/hours$"))
            for d in range(7):
                await page.locator(f'input[name="day{d}.open"]').check()
                await page.locator(f'input[name="day{d}.start"]').fill("00:00")
                await page.locator(f'input[name="day{d}.end"]').fill("23:55")
            await screens.check(page, "onboarding-hours")
            await page.get_by_role("button", name="Next: share your page").click()
            await page.wait_for_url(re.compile(r"/console/welcome/share$"))
            booking_url = await page.locator("#c-booking-url").inner_text()
            assert booking_url.endswith("/p/nora-hair")
            qr = await page.request.get(f"{base}/console/share/qr.png")
            assert qr.ok and qr.headers["content-type"] == "image/png"
            await page.get_by_role("button", name="Copy link").click()
            await screens.check(page, "share")
            await page.get_by_role("link", name="Open my agenda").click()
            await page.wait_for_url(re.compile(r"/console/agenda$"))
            await screens.check(page, "agenda-empty")

            # --- a second service from the services screen ---------------------------
            await page.get_by_role("link", name="Services").click()
            await page.get_by_role("link", name="New appointment").click()
            await page.get_by_label("Name").fill("Consultation")
            await page.get_by_label("Length (minutes)").fill("0")  # the API refuses it
            await page.get_by_role("button", name="Create service").click()
            await page.locator("#f-duration_minutes-error").wait_for()
            assert await page.evaluate("document.activeElement.id") == "form-alert"
            await screens.check(page, "service-form-error")
            await page.get_by_label("Length (minutes)").fill("45")
            await page.get_by_role("button", name="Create service").click()
            await page.wait_for_url(re.compile(r"/console/services\?saved="))
            await page.get_by_role("link", name=re.compile("Consultation")).wait_for()
            await screens.check(page, "services")

            # --- the page builder: the preview follows the form, then it is saved -----
            await page.get_by_role("link", name="Page", exact=True).click()
            await page.wait_for_url(re.compile(r"/console/page$"))
            await page.get_by_label("About you").fill("Cuts and colour in Neukölln.")
            await page.get_by_label("Accent colour").fill("#b45309")
            preview = page.frame_locator("#c-preview")
            await preview.get_by_text("Cuts and colour in Neukölln.").wait_for()
            await page.get_by_role("button", name="Save page").click()
            await page.wait_for_url(re.compile(r"/console/page\?saved=1$"))
            await preview.get_by_text("Cuts and colour in Neukölln.").wait_for()
            await screens.check(page, "page-builder")

            # --- a customer in another time zone books on the public page ------------
            customer = await browser.new_context(viewport=PHONE, timezone_id="America/New_York")
            shopper = await customer.new_page()
            await shopper.goto(booking_url)
            await shopper.get_by_text("Cuts and colour in Neukölln.").wait_for()
            await shopper.get_by_role("link", name=re.compile("Haircut")).click()
            await shopper.locator(".calendar td.free a").nth(1).click()  # tomorrow or later
            await shopper.wait_for_url(re.compile(r"day=\d{4}-\d{2}-\d{2}"))
            await screens.check(shopper, "customer-calendar")
            slot = shopper.locator("a.slot").nth(4)
            await slot.click()
            await shopper.get_by_label("Your name").fill("Grace Hopper")
            await shopper.get_by_label("E-mail").fill("grace@example.com")
            await shopper.get_by_role("button", name=re.compile("^Book")).click()
            await shopper.get_by_role("heading", name="You're booked!").wait_for()
            await screens.check(shopper, "customer-booked")

            # --- the provider sees it and cancels it ---------------------------------
            await page.goto(f"{base}/console/agenda?view=upcoming")
            await page.get_by_role("link", name=re.compile("Grace Hopper")).click()
            await page.get_by_text("grace@example.com").wait_for()
            await screens.check(page, "booking")
            await page.get_by_text("Cancel this booking").click()
            await page.get_by_label("Reason").fill("The salon is closed that day")
            await page.get_by_role("button", name="Cancel booking").click()
            await page.locator(".booking-status", has_text="Cancelled").wait_for()

            # --- book for a client who called ----------------------------------------
            await page.goto(f"{base}/console/bookings/new")
            await page.locator('input[name="start"]').nth(10).check()
            await page.get_by_label("Client's name").fill("Walk In")
            await page.get_by_label("Client's e-mail").fill("walkin@example.com")
            await screens.check(page, "book-for-client")
            await page.get_by_role("button", name="Book", exact=True).click()
            await page.locator(".booking-status", has_text="Confirmed").wait_for()
            await page.goto(f"{base}/console/agenda?view=upcoming")
            await page.get_by_role("link", name=re.compile("Walk In")).wait_for()
            await screens.check(page, "agenda")

            # --- clients: both are there, a search finds one, the CSV has them --------
            await page.get_by_role("link", name="Clients").click()
            await page.get_by_text("Grace Hopper").wait_for()
            await page.get_by_label("Find a client").fill("walkin")
            await page.get_by_role("button", name="Search").click()
            await page.wait_for_url(re.compile(r"/console/clients\?q=walkin"))
            assert await page.locator(".clients .card-title").all_inner_texts() == ["Walk In"]
            await page.locator(".clients summary").first.click()
            await screens.check(page, "clients")
            export = await page.request.get(f"{base}/console/clients.csv")
            assert export.ok and "grace@example.com" in await export.text()

            # --- block the next hours: they leave the public page --------------------
            await page.get_by_role("link", name="Hours").click()
            await page.get_by_label("Block the next").select_option("8")
            await page.get_by_role("button", name="Block now").click()
            await page.wait_for_url(re.compile(r"/console/hours\?saved=time_off"))
            await page.get_by_text("Blocked for 8 h from the console").wait_for()
            await screens.check(page, "hours")
            blocked_until = datetime.now(UTC) + timedelta(hours=8)
            await shopper.goto(booking_url)
            await shopper.get_by_role("link", name=re.compile("Haircut")).click()
            await shopper.locator("a.slot").first.wait_for()
            starts = [
                datetime.fromisoformat(s)
                for s in await shopper.locator("a.slot").evaluate_all(
                    "els => els.map(e => e.dataset.start)"
                )
            ]
            assert starts and min(starts) >= blocked_until - timedelta(minutes=10)

            for name in ("insights", "account"):
                await page.goto(f"{base}/console/{name}")
                await screens.check(page, name)

            # --- the same screens at desktop width -----------------------------------
            desktop = await browser.new_context(
                viewport=DESKTOP, storage_state=await phone.storage_state()
            )
            wide = await desktop.new_page()
            for name, path in (
                ("agenda", "/console/agenda?view=upcoming"),
                ("services", "/console/services"),
                ("hours", "/console/hours"),
                ("share", "/console/share"),
                ("page-builder", "/console/page"),
                ("clients", "/console/clients"),
                ("insights", "/console/insights"),
            ):
                await wide.goto(base + path)
                await screens.check(wide, name, "desktop")
            await desktop.close()
            await customer.close()
        finally:
            await browser.close()
    assert screens.violations == {}, screens.violations
    assert screens.too_wide == {}, screens.too_wide
    assert foreign == [], "the console fetched something from another origin"
    assert not [p for p in problems if "CSP" in p], problems
