"""The customers' way in: ``/`` and ``/explore`` find providers who chose to be listed.

A plain GET form (search words, category, city or area, language) over the public
directory API (``GET /api/v1/providers/search``); results link to each booking page and
"More results" follows the API's cursor, so it all works without JavaScript. ``/`` is the
same search with a welcome; ``/explore`` keeps the search in the address to share it.
``/sitemap.xml`` lists every listed provider's booking page for search engines.
"""

from __future__ import annotations

from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import Query, Request
from fastapi.responses import Response

from calisera.core.errors import InvalidInput
from calisera.providers.schemas import CATEGORY_LIST
from calisera.web import views
from calisera.web.clients import DirectoryPage
from calisera.web.pages import WebClientsDep, page_router

router = page_router()

PAGE_SIZE = 20
SITEMAP_PAGE = 200
SITEMAP_MAX = 50_000
"""The sitemap protocol's limit of URLs per file."""

LANGUAGES = {
    "en": "English", "de": "Deutsch", "fr": "Français", "es": "Español",
    "it": "Italiano", "pt": "Português", "nl": "Nederlands", "pl": "Polski",
    "tr": "Türkçe", "ar": "العربية", "ru": "Русский", "uk": "Українська",
    "zh": "中文", "ja": "日本語", "hi": "हिन्दी",
}  # fmt: skip
"""Languages offered in the filter (the API accepts any ISO 639 code)."""

SearchParam = Annotated[str | None, Query(max_length=200)]


async def _explore(
    clients: WebClientsDep,
    *,
    home: bool,
    q: str | None,
    category: str | None,
    city: str | None,
    lang: str | None,
    cursor: str | None,
) -> Response:
    search = {"q": q, "category": category, "city": city, "lang": lang}
    message = None
    status = 200
    try:
        page = await clients.providers.search_directory(**search, cursor=cursor, limit=PAGE_SIZE)
    except InvalidInput as exc:
        page, status = DirectoryPage(items=[]), 422
        fields = ", ".join(e.field for e in exc.errors) or "the search"
        message = f"That search could not be read ({fields}); please change it and try again."
    labels = {c.slug: c.label for c in CATEGORY_LIST}
    return views.render(
        "explore.html",
        status_code=status,
        provider=None,
        home=home,
        search=search,
        searched=any(search.values()),
        results=page.items,
        more=views.query(**search, cursor=page.next_cursor) if page.next_cursor else None,
        categories=CATEGORY_LIST,
        category_label=labels,
        languages=LANGUAGES,
        message=message,
        q=views.query,
    )


@router.get("/")
async def home_page(
    clients: WebClientsDep,
    q: SearchParam = None,
    category: SearchParam = None,
    city: SearchParam = None,
    lang: SearchParam = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    return await _explore(
        clients, home=True, q=q, category=category, city=city, lang=lang, cursor=cursor
    )


@router.get("/explore")
async def explore_page(
    clients: WebClientsDep,
    q: SearchParam = None,
    category: SearchParam = None,
    city: SearchParam = None,
    lang: SearchParam = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    return await _explore(
        clients, home=False, q=q, category=category, city=city, lang=lang, cursor=cursor
    )


@router.get("/sitemap.xml")
async def sitemap(clients: WebClientsDep, request: Request) -> Response:
    """Every listed provider's booking page (and the directory itself)."""
    base = request.app.state.platform.settings.public_url.rstrip("/")
    urls = [f"{base}/explore"]
    cursor: str | None = None
    while len(urls) < SITEMAP_MAX:
        page = await clients.providers.search_directory(cursor=cursor, limit=SITEMAP_PAGE)
        urls += [f"{base}/p/{p.slug}" for p in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    body = "".join(f"<url><loc>{escape(u)}</loc></url>" for u in urls[:SITEMAP_MAX])
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>\n'
    )
    return Response(
        xml, media_type="application/xml", headers={"Cache-Control": "public, max-age=600"}
    )
