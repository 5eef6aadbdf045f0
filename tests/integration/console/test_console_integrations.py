"""Console integrations screen: feed URL and webhook secret shown once, CalDAV status
(a refused calendar shows as not synced with its reason), the delivery log."""

from __future__ import annotations

import html

from tests.integration.console.conftest import onboard


async def test_integrations_screen_shows_secrets_once_and_calendar_status(sign_in, tmp_path):
    browser = await sign_in("nora@example.com")
    await onboard(browser, slug="nora-integrations")
    page = await browser.get("/console/integrations")
    assert page.status_code == 200, page.text
    assert "Calendar feed" in page.text and "No feed yet" in page.text

    made = await browser.post("/console/integrations/feed")
    assert made.status_code == 200
    assert "/api/v1/integrations/feeds/" in made.text and 'id="c-feed-url"' in made.text
    again = await browser.get("/console/integrations")
    assert "/api/v1/integrations/feeds/" not in again.text and "A feed exists since" in again.text

    bad = await browser.post(
        "/console/integrations/webhooks",
        {"url": "ftp://nope", "event_types": ["booking.created"]},
    )
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    added = await browser.post(
        "/console/integrations/webhooks",
        {"url": "https://hooks.example.test/in", "event_types": ["booking.created"]},
    )
    assert added.status_code == 200 and 'id="c-webhook-secret">whsec_' in added.text
    listed = await browser.get("/console/integrations")
    assert "hooks.example.test/in" in listed.text and "whsec_" not in listed.text
    assert "Nothing sent yet" in listed.text

    # loopback is refused by default: connected, but not synced, with the reason shown
    connected = await browser.post(
        "/console/integrations/caldav",
        {"url": "http://127.0.0.1:9/dav/nora/work/", "username": "nora", "password": "s3cret-pw"},
    )
    assert connected.status_code == 303
    status = await browser.get("/console/integrations")
    text = html.unescape(status.text)
    assert "Not synced" in text and "non-public address" in text
    assert "s3cret-pw" not in text
    assert (await browser.post("/console/integrations/caldav/disconnect")).status_code == 303
    assert "Not synced" not in (await browser.get("/console/integrations")).text
