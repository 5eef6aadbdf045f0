"""Console: share the booking page (its URL, the Web Share API where the phone has it,
its QR code as SVG or PNG from the providers API, and the snippet that embeds it in the
provider's own site, :mod:`calisera.web.embed_pages`)."""

from __future__ import annotations

from fastapi.responses import Response

from calisera.core.dependencies import PlatformDep
from calisera.web import embed_pages
from calisera.web.console_session import ApiDep, console_router, render

router = console_router()
_MEDIA = {"svg": "image/svg+xml", "png": "image/png"}


@router.get("/console/share")
async def share(platform: PlatformDep, api: ApiDep) -> Response:
    provider = await api.my_provider()
    embed = embed_pages.snippet(platform.settings.public_url, provider["slug"], provider["name"])
    return render(
        "console/share.html", title="Share", nav="share", provider=provider, embed_snippet=embed
    )


@router.get("/console/share/qr.{fmt}")
async def qr_code(api: ApiDep, fmt: str) -> Response:
    """The QR code of the booking URL, as a file to download or print."""
    provider = await api.my_provider()
    fmt = fmt if fmt in _MEDIA else "svg"
    answer = await api.call(
        "GET", "providers", f"/{provider['id']}/qr-code", params={"format": fmt}
    )
    return Response(
        answer.content,
        media_type=_MEDIA[fmt],
        headers={
            "Content-Disposition": f'inline; filename="{provider["slug"]}-qr.{fmt}"',
            "Cache-Control": "private, max-age=300",
        },
    )
