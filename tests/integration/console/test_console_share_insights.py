"""Share (URL, QR downloads), insights as accessible server-side charts, notification
settings, the installable shell, and every screen's first load under 100 KB compressed."""

from __future__ import annotations

import gzip
import json
import re

from tests.integration.console.conftest import onboard

SCREENS = (
    "/console/agenda",
    "/console/agenda?view=upcoming",
    "/console/services",
    "/console/services/new?kind=class",
    "/console/hours",
    "/console/share",
    "/console/page",
    "/console/clients",
    "/console/insights",
    "/console/notifications",
    "/console/account",
    "/console/bookings/new",
)
BUDGET = 100 * 1024


async def test_share_offers_the_url_and_the_qr_code_as_png_and_svg(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    page = await browser.get("/console/share")
    assert provider["booking_url"] in page.text and "data-copy=" in page.text
    snippet = re.search(r'<textarea id="c-embed"[^>]*>([^<]+)</textarea>', page.text)
    assert snippet and f"/p/{provider['slug']}/embed" in snippet.group(1)
    assert "&lt;iframe" in snippet.group(1)  # shown as text, not a frame in the console
    png = await browser.get("/console/share/qr.png")
    svg = await browser.get("/console/share/qr.svg")
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content


async def test_insights_draw_charts_with_text_alternatives(sign_in):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    page = await browser.get("/console/insights")
    assert page.status_code == 200, page.text
    svg = re.search(r"<svg[^>]*>", page.text).group(0)
    assert 'role="img"' in svg and "aria-labelledby" in svg
    assert "<desc" in page.text and "As a table" in page.text
    assert '<table class="heat">' in page.text and "<caption" in page.text


async def test_notification_settings_are_saved_and_errors_shown_next_to_the_field(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    saved = await browser.post(
        "/console/notifications", {"email_provider": "on", "reminder_offsets_minutes": "120"}
    )
    assert saved.status_code == 303, saved.text
    settings = await browser.get(f"/bff/api/notifications/providers/{provider['id']}/settings")
    assert settings.json() == {
        "reminder_offsets_minutes": [120],
        "email_provider": True,
        "push_provider": False,
        "sms_customer": False,
    }
    bad = await browser.post("/console/notifications", {"reminder_offsets_minutes": "soon"})
    assert bad.status_code == 422 and 'id="f-reminder_offsets_minutes-error"' in bad.text
    page = await browser.get("/console/notifications")
    assert 'id="c-push"' in page.text  # the opt-in button (shown by script where push works)


async def test_the_console_is_installable_with_an_offline_page(client):
    manifest = json.loads((await client.get("/console/manifest.webmanifest")).text)
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/console"
    purposes = {i["purpose"] for i in manifest["icons"]}
    assert "maskable" in purposes
    for icon in manifest["icons"]:
        assert (await client.get(icon["src"])).status_code == 200
    worker = await client.get("/console/sw.js")
    assert worker.headers["service-worker-allowed"] == "/console"
    assert '"/console/offline"' in worker.text and "SKIP_WAITING" in worker.text
    offline = await client.get("/console/offline")
    assert offline.status_code == 200 and "offline" in offline.text


async def test_every_screen_loads_in_under_100_kb_compressed(sign_in, client):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    weights = {}
    for path in (*SCREENS, "/console/sign-in"):
        page = await browser.get(path)
        assert page.status_code == 200, (path, page.status_code)
        assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js|svg))"', page.text)
        total = len(gzip.compress(page.content))
        for asset in set(assets):
            total += len(gzip.compress((await client.get(asset)).content))
        weights[path] = total
    assert max(weights.values()) <= BUDGET, weights
