"""Console: the provider's integrations — the calendar feed, a CalDAV calendar (connect,
status, last sync, read now) and webhook endpoints with their delivery log.

Everything goes through the integrations API as the signed-in user. Secrets the API
shows once (the feed URL, a webhook signing secret) are shown once here too, on the
page the creating POST answers (never in a redirect's URL, never stored by the web
service); a reload of that page asks for a new one instead.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import Response

from calisera.core.errors import InvalidInput, NotFound, Problem
from calisera.web.console_session import ApiDep, ConsoleApi, console_router, field_errors, render
from calisera.web.pages import redirect

router = console_router()
PAGE = "/console/integrations"
EVENT_TYPES = (
    "booking.created",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.completed",
    "booking.no_show",
)
DELIVERIES_SHOWN = 10


async def _optional(api: ConsoleApi, path: str) -> Any:
    try:
        return await api.get("integrations", path)
    except NotFound:
        return None


async def _page(
    api: ConsoleApi,
    *,
    shown_once: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    provider = await api.my_provider()
    base = f"/providers/{provider['id']}"
    feed = await api.get("integrations", f"{base}/feed")
    caldav = await _optional(api, f"{base}/caldav")
    endpoints = (await api.get("integrations", f"{base}/webhooks"))["items"]
    for endpoint in endpoints:
        log = await api.get(
            "integrations", f"{base}/webhooks/{endpoint['id']}/deliveries", limit=DELIVERIES_SHOWN
        )
        endpoint["deliveries"] = log["items"]
    return render(
        "console/integrations.html",
        title="Integrations",
        nav="account",
        provider=provider,
        feed=feed,
        caldav=caldav,
        endpoints=endpoints,
        event_types=EVENT_TYPES,
        shown_once=shown_once or {},
        errors=errors or {},
        values=values or {},
        status_code=status_code,
    )


@router.get(PAGE)
async def integrations(api: ApiDep) -> Response:
    return await _page(api)


@router.post(f"{PAGE}/feed")
async def new_feed(api: ApiDep) -> Response:
    """A new private feed URL (the old one stops working): shown on this answer only."""
    provider = await api.my_provider()
    feed = await api.send("POST", "integrations", f"/providers/{provider['id']}/feed")
    return await _page(api, shown_once={"feed_url": feed["url"]})


@router.post(f"{PAGE}/feed/revoke")
async def revoke_feed(api: ApiDep) -> Response:
    provider = await api.my_provider()
    with contextlib.suppress(NotFound):  # already revoked (a second tap)
        await api.send("DELETE", "integrations", f"/providers/{provider['id']}/feed")
    return redirect(PAGE)


@router.post(f"{PAGE}/caldav")
async def connect_calendar(
    api: ApiDep,
    url: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    provider = await api.my_provider()
    body = {"url": url.strip(), "username": username.strip(), "password": password}
    try:
        await api.send("PUT", "integrations", f"/providers/{provider['id']}/caldav", body)
    except InvalidInput as exc:
        values = {"url": body["url"], "username": body["username"]}  # never the password
        return await _page(api, errors=_prefixed("caldav", exc), values=values, status_code=422)
    return redirect(PAGE)


@router.post(f"{PAGE}/caldav/sync")
async def sync_calendar(api: ApiDep) -> Response:
    provider = await api.my_provider()
    await api.send("POST", "integrations", f"/providers/{provider['id']}/caldav/sync")
    return redirect(PAGE)


@router.post(f"{PAGE}/caldav/disconnect")
async def disconnect_calendar(api: ApiDep) -> Response:
    provider = await api.my_provider()
    with contextlib.suppress(NotFound):
        await api.send("DELETE", "integrations", f"/providers/{provider['id']}/caldav")
    return redirect(PAGE)


@router.post(f"{PAGE}/webhooks")
async def add_webhook(
    api: ApiDep,
    url: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Register an endpoint; its signing secret is shown on this answer only."""
    provider = await api.my_provider()
    body: dict[str, Any] = {"url": url.strip(), "event_types": event_types or []}
    if description.strip():
        body["description"] = description.strip()
    try:
        created = await api.send(
            "POST", "integrations", f"/providers/{provider['id']}/webhooks", body
        )
    except Problem as exc:
        if exc.status not in (409, 422):
            raise
        values = {"webhook.url": body["url"], "webhook.description": description}
        return await _page(
            api, errors=_prefixed("webhook", exc), values=values, status_code=exc.status
        )
    return await _page(api, shown_once={"secret": created["secret"], "secret_url": created["url"]})


@router.post(PAGE + "/webhooks/{endpoint_id}/enabled")
async def switch_webhook(
    api: ApiDep, endpoint_id: str, enabled: Annotated[str, Form()] = ""
) -> Response:
    provider = await api.my_provider()
    path = f"/providers/{provider['id']}/webhooks/{_uuid(endpoint_id)}"
    await api.send("PATCH", "integrations", path, {"enabled": enabled == "on"})
    return redirect(PAGE)


@router.post(PAGE + "/webhooks/{endpoint_id}/delete")
async def delete_webhook(api: ApiDep, endpoint_id: str) -> Response:
    provider = await api.my_provider()
    with contextlib.suppress(NotFound):
        await api.send(
            "DELETE", "integrations", f"/providers/{provider['id']}/webhooks/{_uuid(endpoint_id)}"
        )
    return redirect(PAGE)


@router.post(PAGE + "/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(api: ApiDep, endpoint_id: str, delivery_id: str) -> Response:
    provider = await api.my_provider()
    path = (
        f"/providers/{provider['id']}/webhooks/{_uuid(endpoint_id)}"
        f"/deliveries/{_uuid(delivery_id)}/redeliver"
    )
    await api.send("POST", "integrations", path)
    return redirect(PAGE)


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound("No such item.") from None


def _prefixed(form: str, exc: Problem) -> dict[str, str]:
    found = field_errors(exc) if exc.errors else {"": exc.detail}
    return {(f"{form}.{k.split('[')[0]}" if k else ""): v for k, v in found.items()}
