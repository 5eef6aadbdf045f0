"""The booking page inside another site's iframe: only the embed screens may be framed,
they link among themselves, and the details form books in the whole window."""

from __future__ import annotations

import re

import httpx
import pytest

from calisera.web.embed_pages import snippet
from tests.integration.web.studio import ZONE, Studio, free_slots, open_studio
from tests.integration.web.test_booking_pages import tomorrow
from tests.integration.web.test_security_headers import csp


@pytest.fixture
async def studio(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Studio:
    return await open_studio(client, admin_headers)


async def test_only_embed_screens_may_be_framed_by_other_sites(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    service = studio.simple["id"]
    slot = (await free_slots(client, service, ZONE, tomorrow(ZONE)))[0]
    embedded = [
        f"/p/{studio.slug}/embed",
        f"/p/{studio.slug}/embed/s/{service}",
        f"/p/{studio.slug}/embed/s/{service}/book?start={slot['start'].replace('+', '%2B')}",
    ]
    for path in embedded:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text)
        policy = csp(page)
        assert policy["frame-ancestors"] == ["*"], path
        assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'self'"]
        assert "data-embed" in page.text
    for path in (f"/p/{studio.slug}", f"/p/{studio.slug}/s/{service}", "/console/sign-in"):
        assert csp(await client.get(path))["frame-ancestors"] == ["'self'"], path
    # an unknown provider's embed is the 404 page, framed or not
    assert (await client.get("/p/nobody-here/embed")).status_code == 404


async def test_embed_links_stay_in_the_frame_and_the_form_books_in_the_whole_window(
    client: httpx.AsyncClient, studio: Studio
) -> None:
    home = (await client.get(f"/p/{studio.slug}/embed")).text
    assert f'href="/p/{studio.slug}/embed/s/{studio.simple["id"]}' in home
    assert f'href="/p/{studio.slug}/s/' not in home
    picker = (await client.get(f"/p/{studio.slug}/embed/s/{studio.simple['id']}")).text
    slot = re.search(r'class="slot" data-start="[^"]+" aria-label="[^"]+" href="([^"]+)"', picker)
    assert slot and slot.group(1).startswith(f"/p/{studio.slug}/embed/s/")
    assert re.search(rf'href="/p/{studio.slug}/embed/s/[^"]+month=', picker)
    form = (await client.get(slot.group(1).replace("&amp;", "&"))).text
    action = re.search(r'<form class="form" method="post" action="([^"]+)"( target="_top")?', form)
    assert action and action.group(2), "the embedded form must post to the whole window"
    assert action.group(1) == f"/p/{studio.slug}/s/{studio.simple['id']}/book"
    plain = (await client.get(f"/p/{studio.slug}/s/{studio.simple['id']}")).text
    assert 'target="_top"' not in plain


def test_the_snippet_listens_only_to_calisera_and_escapes_the_name() -> None:
    code = snippet("https://book.example/", "studio-lumen", 'Lumen "&" <Co>')
    assert 'src="https://book.example/p/studio-lumen/embed"' in code
    assert 'e.origin !== "https://book.example"' in code
    assert "e.source === f.contentWindow" in code
    assert 'title="Book with Lumen &#34;&amp;&#34; &lt;Co&gt;"' in code
