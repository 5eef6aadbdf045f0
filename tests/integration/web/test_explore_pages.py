"""Customers find listed providers at ``/`` and ``/explore`` (no JavaScript needed) and
search engines at ``/sitemap.xml``."""

from __future__ import annotations


async def _provider(client, admin_headers, slug: str, name: str, **directory) -> None:
    body = {"slug": slug, "name": name, "timezone": "Europe/Berlin",
            "owner_email": "owner@example.com", **directory}  # fmt: skip
    r = await client.post("/api/v1/providers", json=body, headers=admin_headers)
    assert r.status_code == 201, r.text


async def test_explore_finds_listed_providers_and_links_their_pages(client, admin_headers):
    await _provider(client, admin_headers, "mitte-barber", "Mitte Barber", listed=True,
                    categories=["barber"], city="Berlin")  # fmt: skip
    await _provider(client, admin_headers, "secret-barber", "Secret Barber")
    page = await client.get("/explore", params={"q": "barbr", "city": "berlin"})
    assert page.status_code == 200
    assert 'href="/p/mitte-barber"' in page.text
    assert "secret-barber" not in page.text
    assert "<script>" not in page.text and "style=" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    home = await client.get("/")
    assert home.status_code == 200 and 'action="/explore"' in home.text
    assert 'href="/p/mitte-barber"' in home.text


async def test_explore_with_unknown_category_says_so(client):
    page = await client.get("/explore", params={"category": "astrology"})
    assert page.status_code == 422
    assert "could not be read" in page.text


async def test_sitemap_lists_only_listed_booking_pages(client, admin_headers):
    await _provider(client, admin_headers, "listed-yoga", "Listed Yoga", listed=True)
    await _provider(client, admin_headers, "private-yoga", "Private Yoga")
    r = await client.get("/sitemap.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert "<loc>https://book.example.test/p/listed-yoga</loc>" in r.text
    assert "private-yoga" not in r.text
