"""A phone in headless Chromium (390x844, touch, the customer's zone) on our pages,
collecting console errors (CSP violations included, see :data:`CSP_REPORTER`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tests.e2e.test_booking_page import CHROMIUM_ARGS, CSP_REPORTER


@contextlib.asynccontextmanager
async def phone_page(chromium: str, zone: str, problems: list[str]) -> AsyncIterator[Any]:
    """A Playwright page on a phone in ``zone``; console errors are appended to
    ``problems``. Debian's ``chromium`` (``chromium`` on PATH), never a download."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                timezone_id=zone,
                locale="en-GB",
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
            )
            await context.add_init_script(CSP_REPORTER)
            page = await context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            yield page
        finally:
            await browser.close()
