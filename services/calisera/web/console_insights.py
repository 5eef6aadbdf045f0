"""Console: insights from the analytics API (summary, trend, busiest hours, services,
customers) and notification settings with the web push opt-in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from calisera.core.errors import InvalidInput
from calisera.web import charts
from calisera.web.console_session import ApiDep, console_router, field_errors, render
from calisera.web.hours_form import WEEKDAYS
from calisera.web.pages import redirect

router = console_router()


@router.get("/console/insights")
async def insights(api: ApiDep) -> Response:
    provider = await api.my_provider()
    base = f"/providers/{provider['id']}"
    summary = await api.get("analytics", f"{base}/summary")
    series = await api.get("analytics", f"{base}/timeseries", metric="bookings_created")
    heatmap = await api.get("analytics", f"{base}/heatmap")
    services = await api.get("analytics", f"{base}/services")
    customers = await api.get("analytics", f"{base}/customers")
    trend = charts.bar_chart(
        "Bookings made per day",
        [(p["start"][5:], p["value"]) for p in series["points"]],
        "bookings",
    )
    cells = {(c["weekday"], c["hour"]): c["bookings"] for c in heatmap["cells"]}
    peak = max(cells.values(), default=0)
    hours = [h for h in range(24) if any(cells.get((d, h)) for d in range(7))] or list(range(8, 19))
    return render(
        "console/insights.html",
        title="Insights",
        nav="insights",
        provider=provider,
        summary=summary,
        trend=trend,
        series=series,
        heat={"cells": cells, "peak": peak, "hours": hours, "level": charts.heat_level},
        heatmap=heatmap,
        weekdays=WEEKDAYS,
        services=services["items"],
        customers=customers,
        percent=charts.percent,
    )


@router.get("/console/notifications")
async def notifications(api: ApiDep) -> Response:
    provider = await api.my_provider()
    settings = await api.get("notifications", f"/providers/{provider['id']}/settings")
    return _notifications(provider, settings, {})


def _notifications(
    provider: dict[str, Any], settings: dict[str, Any], errors: dict[str, str]
) -> Response:
    values = {"reminder_offsets_minutes": ", ".join(map(str, settings["reminder_offsets_minutes"]))}
    return render(
        "console/notifications.html",
        title="Notifications",
        nav="account",
        provider=provider,
        settings=settings,
        values=values,
        errors=errors,
        status_code=422 if errors else 200,
    )


@router.post("/console/notifications")
async def save_notifications(
    request: Request,
    api: ApiDep,
    reminders: Annotated[str, Form(alias="reminder_offsets_minutes")] = "",
) -> Response:
    """Saving the same settings twice gives the same settings: no nonce needed."""
    provider = await api.my_provider()
    form = await request.form()
    body: dict[str, Any] = {
        k: form.get(k) == "on" for k in ("email_provider", "push_provider", "sms_customer")
    }
    try:
        body["reminder_offsets_minutes"] = [int(x) for x in reminders.replace(",", " ").split()]
    except ValueError:
        settings = {**body, "reminder_offsets_minutes": []}
        errors = {"reminder_offsets_minutes": "Minutes as whole numbers, e.g. 1440, 60."}
        return _notifications(provider, settings, errors)
    try:
        await api.send("PUT", "notifications", f"/providers/{provider['id']}/settings", body)
    except InvalidInput as exc:
        errors = {k.split("[")[0]: v for k, v in field_errors(exc).items()}
        return _notifications(provider, body, errors)
    return redirect("/console/notifications?saved=1")
