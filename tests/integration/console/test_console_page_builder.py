"""The page builder: what the provider saves is what customers see, the API's field
errors show next to their fields, and the preview renders the draft."""

from __future__ import annotations

import re

from tests.integration.console.conftest import onboard
from tests.integration.pictures import picture

FORM = {
    "name": "Nora's Hair Studio",
    "bio": "Cuts & colour <em>since</em> 2009.",
    "booking_page.welcome_text": "Welcome in!",
    "booking_page.accent_color": "#b45309",
    "photo_url": "",
    "logo_url": "https://nora.example/logo.png",
    "contact.email": "hello@nora.example",
    "contact.phone": "+49 30 1234567",
    "city": "Berlin",
    "area": "Neukölln",
    "booking_page.address": "Weserstraße 12, 12047 Berlin",
    "booking_page.policy_text": "Cancel 24 h ahead.\nLate by 15 minutes: we shorten the cut.",
    "listed": "on",
}


async def test_saved_page_is_what_customers_see(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    screen = await browser.get("/console/page")
    assert screen.status_code == 200
    assert 'value="Nora&#39;s Hair"' in screen.text and 'type="color"' in screen.text
    saved = await browser.post("/console/page", FORM)
    assert saved.status_code == 303 and saved.headers["location"] == "/console/page?saved=1"
    after = (await browser.get("/bff/api/providers")).json()["items"][0]
    assert after["name"] == "Nora's Hair Studio" and after["city"] == "Berlin"
    assert after["booking_page"]["accent_color"].lower() == "#b45309"
    assert after["contact"]["email"] == "hello@nora.example" and after["listed"] is True
    page = await browser.client.get(f"/p/{provider['slug']}")
    assert "Nora&#39;s Hair Studio" in page.text and "Welcome in!" in page.text
    assert "Cuts &amp; colour &lt;em&gt;since&lt;/em&gt; 2009." in page.text
    # the address with a map link, the policies on the page and beside the booking form
    assert "Weserstra%C3%9Fe%2012%2C%2012047%20Berlin" in page.text
    assert "Before you book" in page.text and "we shorten the cut." in page.text
    public = await browser.client.get(f"/api/v1/providers/by-slug/{provider['slug']}")
    assert public.json()["policy_text"] == FORM["booking_page.policy_text"]
    assert public.json()["address"] == FORM["booking_page.address"]
    theme = await browser.client.get(f"/p/{provider['slug']}/theme.css")
    assert "#b45309" in theme.text.lower()
    # saving again with a field emptied clears it; the same form twice is the same page
    cleared = {**FORM, "bio": "", "listed": ""}
    for _ in range(2):
        assert (await browser.post("/console/page", cleared)).status_code == 303
    again = (await browser.get("/bff/api/providers")).json()["items"][0]
    assert again["bio"] is None and again["listed"] is False


async def test_api_field_errors_show_next_to_their_fields(sign_in):
    browser = await sign_in("nora@example.com")
    await onboard(browser)
    bad = {
        **FORM,
        "contact.email": "not-an-address",
        "booking_page.accent_color": "red;}",
        "logo_url": "javascript:alert(1)",
        "booking_page.address": "Line one\nline two",
    }
    page = await browser.post("/console/page", bad)
    assert page.status_code == 422, page.text
    for field in ("contact-email", "booking_page-accent_color", "logo_url", "booking_page-address"):
        assert f'id="f-{field}-error"' in page.text, field
    assert 'value="not-an-address"' in page.text  # what was typed is kept
    nameless = await browser.post("/console/page", {**FORM, "name": " "})
    assert nameless.status_code == 422 and 'id="f-name-error"' in nameless.text
    hostile = await browser.post("/console/page", {**FORM, "bio": "x\x00y" * 10_000})
    assert hostile.status_code == 422 and 'id="f-bio-error"' in hostile.text


async def test_the_preview_renders_the_draft_not_the_saved_page(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    draft = {**FORM, "name": "Draft <Name>", "booking_page.accent_color": "#123456"}
    preview = await browser.get("/console/page/preview", params=draft)
    assert preview.status_code == 200
    assert "Draft &lt;Name&gt;" in preview.text and "Haircut" in preview.text
    theme = re.search(r'href="(/p/[^"]+/theme\.css[^"]*)"', preview.text)
    assert theme
    css = await browser.client.get(theme.group(1).replace("&amp;", "&"))
    assert "--accent: #123456" in css.text
    saved = (await browser.get("/bff/api/providers")).json()["items"][0]
    assert saved["name"] == "Nora's Hair"  # nothing was saved
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    plain = await browser.get("/console/page/preview")
    assert "Nora&#39;s Hair" in plain.text
    # the theme's preview colour is only ever a colour
    odd = await browser.client.get(
        f"/p/{provider['slug']}/theme.css", params={"preview": "red;}body{display:none"}
    )
    assert "display" not in odd.text


async def test_a_stranger_cannot_use_the_builder(client):
    for path in ("/console/page", "/console/page/preview?name=x"):
        answer = await client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
    posted = await client.post("/console/page", data=FORM)
    assert posted.status_code == 303 and posted.headers["location"] == "/console/sign-in"


async def test_a_photo_is_uploaded_from_the_page_builder_and_removed(sign_in):
    browser = await sign_in("nora@example.com")
    provider = await onboard(browser)
    files = {"image": ("me.jpg", picture("JPEG", (2000, 1500)), "image/jpeg")}
    saved = await browser.post("/console/page/images/photo", files=files)
    assert saved.status_code == 303, saved.text
    after = (await browser.get("/bff/api/providers")).json()["items"][0]
    photo = after["photo_url"]
    assert f"/api/v1/providers/{provider['id']}/images/photo?v=" in photo
    served = await browser.client.get(photo.split("book.example.test", 1)[-1])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    screen = await browser.get("/console/page")
    assert "Remove the photo" in screen.text
    page = await browser.client.get(f"/p/{provider['slug']}")
    assert f'class="photo" src="{photo}"' in page.text
    # not an image: the problem is shown on the screen, nothing changes
    bad = await browser.post(
        "/console/page/images/logo", files={"image": ("cv.pdf", b"%PDF-1.4 ...", "application/pdf")}
    )
    assert bad.status_code == 415 and "The image was not saved" in bad.text
    empty = await browser.post(
        "/console/page/images/logo", files={"image": ("x.png", b"", "image/png")}
    )
    assert empty.status_code == 422 and "Choose an image first." in empty.text
    removed = await browser.post("/console/page/images/photo/remove")
    assert removed.status_code == 303
    assert (await browser.get("/bff/api/providers")).json()["items"][0]["photo_url"] is None
