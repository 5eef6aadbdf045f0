"""Every kind of web answer carries the security headers; HSTS only over TLS (issue 13)."""

from __future__ import annotations

import httpx
import pytest

from calisera.core.settings import Settings
from tests.integration.web.studio import ZONE, Studio, free_slots, open_studio
from tests.integration.web.test_booking_pages import book_via_page, tomorrow

CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "https:", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}


def csp(response: httpx.Response) -> dict[str, list[str]]:
    directives = [d.split() for d in response.headers["content-security-policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


def assert_secured(response: httpx.Response, *, tls: bool) -> None:
    label = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    assert csp(response) == CSP_DIRECTIVES, label
    assert "'unsafe-inline'" not in response.headers["content-security-policy"], label
    assert response.headers["x-content-type-options"] == "nosniff", label
    # console screens post forms checked by their Origin, which no-referrer would null
    console = response.request.url.path.startswith("/console")
    policy = "same-origin" if console else "no-referrer"
    assert response.headers["referrer-policy"] == policy, label
    if tls:
        assert response.headers["strict-transport-security"] == "max-age=31536000", label
    else:
        assert "strict-transport-security" not in response.headers, label


@pytest.fixture
async def studio(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Studio:
    return await open_studio(client, admin_headers)


async def test_every_kind_of_page_and_asset_carries_the_security_headers(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    simple = f"/p/{studio.slug}/s/{studio.simple['id']}"
    slot = (await free_slots(client, studio.simple["id"], ZONE, tomorrow(ZONE)))[0]
    answers = [
        await client.get(f"/p/{studio.slug}"),
        await client.get(f"/p/{studio.slug}/theme.css"),
        await client.get(simple, params={"tz": ZONE}),
        await client.get(f"{simple}/book", params={"start": slot["start"], "tz": ZONE}),
        await client.get(f"{simple}/book"),  # no start: redirect to the picker
        await client.post(f"{simple}/book", data={"start": slot["start"], "name": ""}),  # 422
        await client.get("/p/nobody-here"),  # 404 page
        await client.get("/console"),  # nobody signed in: to the sign-in screen
        await client.get("/console/sign-in"),
        await client.get("/console/manifest.webmanifest"),
        await client.get("/console/sw.js"),
        await client.get("/static/app.css"),
        await client.get("/static/web.js"),
        await client.get("/static/nope.css"),  # 404 page
    ]
    manage = await book_via_page(client, studio, slot)  # the booking's 303
    answers += [
        await client.get(manage),
        await client.get(manage.split("?")[0] + "/booking.ics"),
        await client.get(manage.split("?")[0] + "/reschedule"),
        await client.get(manage.split("?")[0], params={"token": "wrong"}),  # 404 page
    ]
    assert [a.status_code for a in answers] == [
        *(200, 200, 200, 200, 303, 422, 404, 303, 200, 200, 200, 200, 200, 404),
        *(200, 200, 200, 404),
    ]
    for answer in answers:
        assert_secured(answer, tls=True)


async def test_no_hsts_over_plain_http_and_the_503_page_is_secured_too(
    settings: Settings,
) -> None:
    """``calisera serve web`` alone on a plain-HTTP public URL, the other services down."""
    from calisera.assembly import build_app
    from tests.e2e.processes import free_port

    down = f"http://127.0.0.1:{free_port()}"
    app = build_app(
        settings.with_changes(
            public_url="http://127.0.0.1:8000",
            providers_url=down,
            listing_url=down,
            bookings_url=down,
        ),
        ["web"],
    )
    async with app.router.lifespan_context(app):
        plain = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        tls = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t")
        async with plain, tls:
            unavailable = await plain.get("/p/studio-lumen")
            assert unavailable.status_code == 503
            assert_secured(unavailable, tls=False)
            assert_secured(await plain.get("/console"), tls=False)
            # a request that itself came over TLS gets HSTS whatever the public URL says
            assert_secured(await tls.get("/console"), tls=True)
