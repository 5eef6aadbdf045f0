"""A customer books through the real pages in headless Chromium, against the whole
platform served by uvicorn on a loopback port (real services, real PostgreSQL).

Uses Debian's ``chromium`` through Playwright (``playwright install`` cannot download
browsers here); skips with the reason when it is not installed. Screenshots of the
mobile layout (390x844) go to ``/tmp/calisera-web-*.png`` for a person to look at.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn

from calisera.core.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.e2e.processes import free_port
from tests.integration.web.studio import Studio, open_studio
from tests.peers.axe import axe_source, blocking_violations
from tests.peers.oidc_server import PeerMissing

pytestmark = pytest.mark.timeout(180)

NEW_YORK = "America/New_York"
PHONE_PAGE_HEIGHT = 1600
"""A month and one day's times: about two phone screens (390x844), not a week's list."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
});
"""
"""Injected by the browser itself (not subject to the page's CSP): every violation of the
pages' Content-Security-Policy becomes a console error the tests collect."""


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
def live_url(settings: Settings) -> Iterator[str]:
    """The platform (``build_app``, as ``calisera up`` assembles it) on a free port."""
    from calisera.assembly import build_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="calisera-e2e-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
async def studio(live_url: str) -> AsyncIterator[Studio]:
    async with httpx.AsyncClient(base_url=live_url, timeout=15) as http:
        yield await open_studio(http, {"Authorization": f"Bearer {ADMIN_TOKEN}"})


async def test_customer_books_a_slot_in_their_own_time_zone(
    chromium: str, axe: str, live_url: str, studio: Studio
) -> None:
    from playwright.async_api import async_playwright

    foreign: list[str] = []
    problems: list[str] = []
    failed: list[str] = []
    async with httpx.AsyncClient(base_url=live_url, timeout=15) as http:
        asked = await http.patch(
            f"/api/v1/providers/{studio.provider['id']}/services/{studio.simple['id']}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={"questions": [{"kind": "single_choice", "label": "Backdrop",
                                 "options": ["White", "Black"]}]},
        )  # fmt: skip
        assert asked.status_code == 200, asked.text
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                timezone_id=NEW_YORK,
                locale="en-US",
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
            )
            await context.add_init_script(CSP_REPORTER)
            page = await context.new_page()
            page.on(
                "request",
                lambda r: None if r.url.startswith(live_url) else foreign.append(r.url),
            )
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type == "error" else None,
            )
            page.on(
                "response",
                lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )

            # opened without ?tz=, the picker reloads itself in the browser's zone
            opened = await page.goto(f"{live_url}/p/{studio.slug}/s/{studio.event['id']}")
            assert opened is not None
            assert "script-src 'self'" in opened.headers["content-security-policy"]
            await page.wait_for_url(re.compile(r"tz=America%2FNew_York"))
            await page.get_by_text("12 seats left").first.wait_for()

            await page.goto(f"{live_url}/p/{studio.slug}")
            await page.get_by_role("heading", name="Studio Lumen").wait_for()
            await page.screenshot(path="/tmp/calisera-web-provider.png", full_page=True)

            await page.get_by_role("link", name=re.compile("Portrait session")).click()
            await page.wait_for_url(re.compile(r"tz=America%2FNew_York"))
            await page.get_by_text("New York", exact=True).wait_for()
            # a month calendar: pick the second free day, its times are listed below
            free_days = page.locator(".calendar td.free a")
            assert await free_days.count() >= 2
            second = free_days.nth(1)
            second_label = await second.get_attribute("aria-label")
            await second.click()
            await page.wait_for_url(re.compile(r"day=\d{4}-\d{2}-\d{2}"))
            chosen = page.locator('.calendar a[aria-current="date"]')
            assert await chosen.get_attribute("aria-label") == second_label
            found = await blocking_violations(page, axe)
            assert not found, found
            height = await page.evaluate("document.documentElement.scrollHeight")
            print(f"picker height at 390x844: {height}px")
            assert height <= PHONE_PAGE_HEIGHT, height  # the week list was over 3,000 px
            slot = page.locator("a.slot").first
            start_iso = await slot.get_attribute("data-start")
            assert start_iso is not None
            shown = (await slot.inner_text()).strip()
            local = datetime.fromisoformat(start_iso).astimezone(ZoneInfo(NEW_YORK))
            assert shown == local.strftime("%H:%M")
            await page.screenshot(path="/tmp/calisera-web-picker.png", full_page=True)
            picker_url = page.url

            await slot.click()
            # the form is checked on the server: no name, a message next to the field
            await page.get_by_label("E-mail").fill("grace@example.com")
            await page.get_by_role("button", name=re.compile("^Book")).click()
            await page.get_by_text("Please enter your name.").wait_for()
            assert await page.get_by_label("E-mail").input_value() == "grace@example.com"
            await page.screenshot(path="/tmp/calisera-web-form-error.png", full_page=True)
            await page.get_by_label("Your name").fill("Grace Hopper")
            await page.get_by_label("E-mail").fill("grace@example.com")
            await page.get_by_label("Black").check()  # the service's booking question
            await page.screenshot(path="/tmp/calisera-web-form.png", full_page=True)
            await page.get_by_role("button", name=re.compile("^Book")).click()

            await page.wait_for_url(re.compile(r"/manage/"))
            await page.get_by_role("heading", name="You're booked!").wait_for()
            assert "token" not in page.url  # kept in the booking's cookie instead
            when = await page.locator(".booking-when").inner_text()
            assert local.strftime("%H:%M") in when and "New York" in when
            assert await page.locator(".booking-answer").inner_text() == "Black"
            assert await page.get_by_role("link", name="Add to calendar").count() == 1
            google = await page.get_by_role("link", name="Google Calendar").get_attribute("href")
            outlook = await page.get_by_role("link", name="Outlook").get_attribute("href")
            assert google and google.startswith("https://calendar.google.com/calendar/render?")
            assert outlook and outlook.startswith("https://outlook.live.com/calendar/")
            found = await blocking_violations(page, axe)
            assert not found, found
            await page.screenshot(path="/tmp/calisera-web-confirmation.png", full_page=True)

            manage_url = page.url

            await page.goto(picker_url)
            await page.locator("a.slot").first.wait_for()
            assert await page.locator(f'[data-start="{start_iso}"]').count() == 0

            # the manage link: move the booking, then cancel it
            await page.goto(manage_url)
            await page.get_by_role("link", name="Change time").click()
            await page.get_by_role("heading", name="Move your booking").wait_for()
            new_slot = page.locator("button.slot").first
            new_iso = await new_slot.get_attribute("data-start")
            assert new_iso is not None and new_iso != start_iso
            await new_slot.click()
            await page.get_by_role("heading", name="Booking moved").wait_for()
            moved = datetime.fromisoformat(new_iso).astimezone(ZoneInfo(NEW_YORK))
            assert moved.strftime("%H:%M") in await page.locator(".booking-when").inner_text()
            await page.get_by_text("Cancel this booking").click()
            await page.get_by_label("Reason").fill("Plans changed")
            await page.get_by_role("button", name="Cancel booking").click()
            await page.get_by_role("heading", name="Booking cancelled").wait_for()
            await page.screenshot(path="/tmp/calisera-web-cancelled.png", full_page=True)
        finally:
            await browser.close()
    assert foreign == [], "the pages fetched something from another origin"
    # the only failed request is the deliberate 422 of the incomplete form
    assert failed == [f"422 {live_url}/p/{studio.slug}/s/{studio.simple['id']}/book"]
    assert all("422" in p for p in problems), problems  # no CSP violation either


async def test_an_email_link_opened_from_another_site_shows_the_booking_without_its_token(
    chromium: str, live_url: str, studio: Studio
) -> None:
    """The mail client is another site: the SameSite=Strict cookie set on that landing
    must still open the booking, and no address the browser keeps holds the token."""
    from playwright.async_api import async_playwright

    async with httpx.AsyncClient(base_url=live_url, timeout=15) as http:
        day = datetime.now(UTC).astimezone(ZoneInfo(NEW_YORK)).date() + timedelta(days=1)
        slots = (
            await http.get(
                "/api/v1/availability",
                params={
                    "service_id": studio.simple["id"],
                    "start": day.isoformat(),
                    "end": day.isoformat(),
                    "timezone": NEW_YORK,
                },
            )
        ).json()["slots"]
        booked = await http.post(
            "/api/v1/bookings",
            json={
                "service_id": studio.simple["id"],
                "start": slots[0]["start"],
                "customer": {"name": "Rosalind Franklin", "email": "rosalind@example.com"},
            },
        )
        assert booked.status_code == 201, booked.text
    booking = booked.json()
    manage = f"{live_url}/p/{studio.slug}/manage/{booking['id']}"
    email_link = f"{manage}?token={booking['manage_token']}"
    mail_site = live_url.replace("127.0.0.1", "localhost")  # another site, same server
    visited: list[str] = []
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(timezone_id=NEW_YORK)
            await context.add_init_script(CSP_REPORTER)
            page = await context.new_page()
            page.on(
                "request", lambda r: visited.append(r.url) if r.is_navigation_request() else None
            )
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            await page.goto(f"{mail_site}/console")
            await page.evaluate(
                "(href) => { const a = document.createElement('a');"
                " a.href = href; a.id = 'mail-link'; a.textContent = 'Manage your booking';"
                " document.body.append(a); }",
                email_link,
            )
            await page.locator("#mail-link").click()
            await page.get_by_role("heading", name="Your booking", exact=True).wait_for()
            assert page.url == manage
            assert "Rosalind Franklin" in await page.locator(".summary").inner_text()
            cookies = await context.cookies(manage)
            assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
                ("calisera_manage", True, "Strict")
            ]
            # the cookie carries the booking's other pages: move it, no token anywhere
            await page.get_by_role("link", name="Change time").click()
            await page.get_by_role("heading", name="Move your booking").wait_for()
            await page.locator("button.slot").first.click()
            await page.get_by_role("heading", name="Booking moved").wait_for()
        finally:
            await browser.close()
    after_landing = visited[visited.index(email_link) + 1 :]
    assert after_landing and all("token=" not in url for url in after_landing), visited
    assert problems == [], problems


@contextlib.contextmanager
def another_site(page: bytes) -> Iterator[str]:
    """A web server on this machine answering every path with ``page``, addressed as
    ``localhost`` (another site than ``127.0.0.1``; Chromium lets only a local page frame
    a loopback address)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_the_embed_snippet_books_from_inside_another_site(
    chromium: str, live_url: str, studio: Studio
) -> None:
    """Another site (a second server on this machine) pastes the snippet: the frame grows to
    the page's height, the customer picks a time inside it, and the booking ends in the
    whole window on the booking site."""
    from playwright.async_api import async_playwright

    from calisera.web.embed_pages import MIN_HEIGHT, snippet

    html = (
        "<!doctype html><title>Lumen shop</title><h1>Our shop</h1>"
        + snippet(live_url, studio.slug, "Studio Lumen")
    ).encode()
    problems: list[str] = []
    with another_site(html) as shop:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(
                    timezone_id=NEW_YORK, viewport={"width": 390, "height": 844}, is_mobile=True
                )
                await context.add_init_script(CSP_REPORTER)
                page = await context.new_page()
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                await page.goto(f"{shop}/book")
                frame_element = page.locator(f"#calisera-{studio.slug}")
                frame = page.frame_locator(f"#calisera-{studio.slug}")
                await frame.get_by_role("heading", name="Studio Lumen").wait_for()

                async def frame_height() -> int:
                    box = await frame_element.bounding_box()
                    assert box is not None
                    return round(box["height"])

                await frame.get_by_role("link", name=re.compile("Portrait session")).click()
                await frame.locator(".calendar").wait_for()
                await frame.locator("a.slot").first.wait_for()
                deadline = time.monotonic() + 10
                while await frame_height() <= MIN_HEIGHT and time.monotonic() < deadline:
                    await page.wait_for_timeout(100)
                assert await frame_height() > MIN_HEIGHT  # grown to the month and its times
                await frame.locator("a.slot").first.click()
                await frame.get_by_label("Your name").fill("Hedy Lamarr")
                await frame.get_by_label("E-mail").fill("hedy@example.com")
                await frame.get_by_role("button", name=re.compile("^Book")).click()
                # the booking ends in the whole window, on the booking site
                await page.wait_for_url(
                    re.compile(rf"^{re.escape(live_url)}/p/{studio.slug}/manage/")
                )
                await page.get_by_role("heading", name="You're booked!").wait_for()
                assert "Hedy Lamarr" in await page.locator(".summary").inner_text()
            finally:
                await browser.close()
    assert problems == [], problems
