"""Console sign-in: strangers are sent to the sign-in screen, a magic link signs in,
sessions are listed and revocable, sign-out ends the session."""

from __future__ import annotations

from tests.integration.console.conftest import onboard


async def test_a_stranger_is_sent_to_the_sign_in_screen(client):
    for path in ("/console", "/console/agenda", "/console/services", "/console/hours"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/console/sign-in", path
    page = await client.get("/console/sign-in")
    assert page.status_code == 200
    assert 'action="/console/sign-in/magic-link"' in page.text
    assert 'id="passkey-slot"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_a_wrong_address_is_shown_next_to_the_field(client):
    r = await client.post("/console/sign-in/magic-link", data={"email": "not-an-address"})
    assert r.status_code == 422
    assert 'id="f-email-error"' in r.text and 'aria-invalid="true"' in r.text


async def test_the_magic_link_signs_in_and_a_new_user_goes_to_onboarding(sign_in):
    browser = await sign_in("nora@example.com")
    home = await browser.get("/console")
    assert home.status_code == 303 and home.headers["location"] == "/console/welcome"
    await onboard(browser)
    home = await browser.get("/console")
    assert home.headers["location"] == "/console/agenda"


async def test_sessions_are_listed_and_another_one_can_be_signed_out(sign_in):
    phone = await sign_in("nora@example.com")
    laptop = await sign_in("nora@example.com")
    await onboard(phone)
    account = await phone.get("/console/account")
    assert account.status_code == 200
    assert account.text.count("Sign this session out") == 1  # not the current one
    sessions = (await phone.get("/bff/api/users/me/sessions")).json()["items"]
    other = next(s for s in sessions if not s["current"])
    revoked = await phone.post(f"/console/account/sessions/{other['id']}/revoke")
    assert revoked.status_code == 303
    after = (await phone.get("/bff/api/users/me/sessions")).json()["items"]
    assert [s["id"] for s in after] == [s["id"] for s in sessions if s["current"]]
    assert laptop  # its refresh token is dead; its access token expires within minutes


async def test_sign_out_ends_the_session(sign_in):
    browser = await sign_in("nora@example.com")
    out = await browser.post("/console/sign-out")
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
    again = await browser.get("/console/agenda")
    assert again.headers["location"] == "/console/sign-in"


async def test_a_form_posted_from_another_site_is_refused(sign_in):
    browser = await sign_in("nora@example.com")
    r = await browser.post("/console/sign-out", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert (await browser.get("/console")).headers["location"] != "/console/sign-in"


async def test_redirects_and_refusals_carry_the_security_headers(sign_in, client):
    stranger = await client.get("/console/agenda")
    browser = await sign_in("nora@example.com")
    new_user = await browser.get("/console")  # to onboarding
    refused = await browser.post("/console/sign-out", headers={"Origin": "https://evil.example"})
    for answer in (stranger, new_user, refused):
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["x-content-type-options"] == "nosniff"
