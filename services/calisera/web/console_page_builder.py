"""Console: the page builder. What customers see on the booking page (name, bio, welcome
text, accent colour, photo and logo addresses, contact, city and area, being listed in
Discover) with a preview of the real booking page beside the form. The photo and logo
can also be uploaded (``/console/page/images/{photo|logo}``, a form of its own sent on as
the image itself to ``PUT /api/v1/providers/{id}/images/{kind}``).

The preview (``/console/page/preview``) renders the booking page's own template with the
form's values instead of the saved ones, so it shows exactly what saving would. Without
script it shows the saved page; with it (``/static/console.js``) it follows the form as
the provider types. Saving is one ``PATCH /api/v1/providers/{id}``: the same values saved
twice are the same page, so the form needs no nonce. Empty fields clear what was there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from calisera.core.errors import InvalidInput, NotFound, PayloadTooLarge, Problem
from calisera.web import views
from calisera.web.console_session import ApiDep, console_router, field_errors, render
from calisera.web.pages import WebClientsDep, load_provider, page_context, redirect

router = console_router()

TEXT_FIELDS = (
    "name",
    "bio",
    "booking_page.welcome_text",
    "booking_page.accent_color",
    "booking_page.address",
    "booking_page.policy_text",
    "photo_url",
    "logo_url",
    "contact.email",
    "contact.phone",
    "city",
    "area",
)
ImageKind = Literal["photo", "logo"]
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
"""The providers API's limit, checked here too so a huge file is not sent on."""
DRAFT_LIMIT = 4000
"""A preview query longer than any field allows is cut, not rendered at any size."""


def saved_values(provider: dict[str, Any]) -> dict[str, str]:
    """The form's fields from the provider as the API returns it."""
    page = provider.get("booking_page") or {}
    contact = provider.get("contact") or {}
    values = {
        "name": provider.get("name"),
        "bio": provider.get("bio"),
        "booking_page.welcome_text": page.get("welcome_text"),
        "booking_page.accent_color": page.get("accent_color") or views.DEFAULT_ACCENT,
        "booking_page.address": page.get("address"),
        "booking_page.policy_text": page.get("policy_text"),
        "photo_url": provider.get("photo_url"),
        "logo_url": provider.get("logo_url"),
        "contact.email": contact.get("email"),
        "contact.phone": contact.get("phone"),
        "city": provider.get("city"),
        "area": provider.get("area"),
        "listed": "on" if provider.get("listed") else "",
    }
    return {k: v or "" for k, v in values.items()}


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    values = {k: str(form.get(k, ""))[:DRAFT_LIMIT].strip() for k in TEXT_FIELDS}
    values["listed"] = "on" if form.get("listed") == "on" else ""
    return values


def patch_body(values: Mapping[str, str]) -> dict[str, Any]:
    """The ``PATCH`` body; an empty field is ``null`` (cleared), the name stays required."""

    def value(key: str) -> str | None:
        return values.get(key) or None

    return {
        "name": values.get("name", ""),
        "bio": value("bio"),
        "photo_url": value("photo_url"),
        "logo_url": value("logo_url"),
        "city": value("city"),
        "area": value("area"),
        "listed": values.get("listed") == "on",
        "contact": {"email": value("contact.email"), "phone": value("contact.phone")},
        "booking_page": {
            "accent_color": value("booking_page.accent_color"),
            "welcome_text": value("booking_page.welcome_text"),
            "address": value("booking_page.address"),
            "policy_text": value("booking_page.policy_text"),
        },
    }


def _screen(
    provider: dict[str, Any],
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        "console/page_builder.html",
        title="Booking page",
        nav="page",
        provider=provider,
        values=values,
        errors=errors or {},
        saved=saved,
        status_code=status_code,
    )


@router.get("/console/page")
async def page_builder(api: ApiDep, saved: str | None = None) -> Response:
    provider = await api.my_provider()
    return _screen(provider, saved_values(provider), saved=saved == "1")


@router.post("/console/page")
async def save_page(request: Request, api: ApiDep) -> Response:
    provider = await api.my_provider()
    values = form_values(await request.form())
    try:
        await api.send("PATCH", "providers", f"/{provider['id']}", patch_body(values))
    except InvalidInput as exc:
        return _screen(provider, values, errors=field_errors(exc), status_code=422)
    return redirect("/console/page?saved=1")


@router.post("/console/page/images/{kind}")
async def upload_image(request: Request, api: ApiDep, kind: ImageKind) -> Response:
    """The page builder's photo or logo upload (a form), sent on as the image itself."""
    provider = await api.my_provider()
    form = await request.form()
    upload = form.get("image")
    data = await upload.read(MAX_UPLOAD_BYTES + 1) if isinstance(upload, UploadFile) else b""
    field = f"{kind}_url"
    if not data:
        return _screen(
            provider,
            saved_values(provider),
            errors={field: "Choose an image first."},
            status_code=422,
        )
    content_type = upload.content_type if isinstance(upload, UploadFile) else None
    try:
        if len(data) > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"Images are limited to {MAX_UPLOAD_BYTES // 2**20} MiB.")
        await api.call(
            "PUT",
            "providers",
            f"/{provider['id']}/images/{kind}",
            content=data,
            content_type=content_type or "application/octet-stream",
        )
    except Problem as exc:
        message = exc.errors[0].message if exc.errors else exc.detail
        errors = {field: f"The image was not saved: {message}"}
        return _screen(provider, saved_values(provider), errors=errors, status_code=exc.status)
    return redirect("/console/page?saved=1")


@router.post("/console/page/images/{kind}/remove")
async def remove_image(api: ApiDep, kind: ImageKind) -> Response:
    provider = await api.my_provider()
    with contextlib.suppress(NotFound):  # already gone: the page is as asked
        await api.call("DELETE", "providers", f"/{provider['id']}/images/{kind}")
    return redirect("/console/page?saved=1")


@router.get("/console/page/preview")
async def page_preview(request: Request, api: ApiDep, clients: WebClientsDep) -> Response:
    """The booking page with the draft in the query (none: the saved page)."""
    provider = await api.my_provider()
    public = await load_provider(clients, provider["slug"])
    params = request.query_params
    if "name" in params:
        draft = form_values(params)
        public = public.model_copy(
            update={
                "name": draft["name"] or public.name,
                "bio": draft["bio"] or None,
                "welcome_text": draft["booking_page.welcome_text"] or None,
                "address": draft["booking_page.address"] or None,
                "policy_text": draft["booking_page.policy_text"] or None,
                "accent_color": views.accent_color(draft["booking_page.accent_color"]),
                "logo_url": draft["logo_url"] if draft["logo_url"].startswith("https://") else None,
            }
        )
    return views.render(
        "provider.html",
        **page_context(
            public,
            public.timezone,
            services=public.bookable_services,
            tz=None,
            preview_accent=views.accent_color(public.accent_color),
        ),
    )
