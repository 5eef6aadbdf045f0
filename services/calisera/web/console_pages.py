"""The provider console (an installable PWA shell) and the static assets of every page."""

from __future__ import annotations

from fastapi.responses import FileResponse, Response

from calisera.web import views
from calisera.web.pages import page_router

router = page_router()


@router.get("/console")
async def console() -> Response:
    return views.render("console.html", provider=None)


@router.get("/console/manifest.webmanifest")
async def console_manifest() -> Response:
    return FileResponse(
        views.STATIC_DIR / "console" / "manifest.webmanifest",
        media_type="application/manifest+json",
    )


@router.get("/console/sw.js")
async def console_service_worker() -> Response:
    """Served under /console so its scope can be the console (not the customer pages)."""
    return FileResponse(
        views.STATIC_DIR / "console" / "sw.js",
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/console", "Cache-Control": "no-cache"},
    )


# --- static assets -------------------------------------------------------------------

_MEDIA_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


@router.get("/static/{path:path}")
async def static_file(path: str) -> Response:
    """Files of ``calisera/web/static`` (no directory listing, nothing outside it)."""
    root = views.STATIC_DIR
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return views.not_found_page("There is no such file.")
    return FileResponse(
        target,
        media_type=_MEDIA_TYPES.get(target.suffix, "application/octet-stream"),
        headers={"Cache-Control": "public, max-age=3600"},
    )
