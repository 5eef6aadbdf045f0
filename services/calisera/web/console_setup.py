"""Console onboarding in four phone screens: the booking page (name, address, time zone),
a first service, weekly hours, and the share screen."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from calisera.core.dependencies import SessionDep
from calisera.core.errors import Conflict, InvalidInput
from calisera.web import hours_form, service_form, views
from calisera.web.console_session import (
    ApiDep,
    OnboardingRequired,
    claim_nonce,
    console_router,
    field_errors,
    new_nonce,
    render,
)
from calisera.web.pages import redirect

router = console_router()
STEPS = ("Your page", "First service", "Hours", "Share")


time_zones = views.zone_choices


def _step(template: str, step: int, **context: Any) -> Response:
    return render(f"console/{template}", title=STEPS[step - 1], step=step, steps=STEPS, **context)


@router.get("/console/welcome")
async def welcome(api: ApiDep) -> Response:
    try:
        await api.my_provider()
    except OnboardingRequired:
        values = {"timezone": "UTC"}
        return _step("welcome.html", 1, values=values, zones=time_zones(), nonce=new_nonce())
    return redirect("/console/welcome/service")


@router.post("/console/welcome")
async def create_page(request: Request, api: ApiDep, session: SessionDep) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not await claim_nonce(session, form.get("nonce")):
        return redirect("/console/welcome/service")
    body = {k: form.get(k, "").strip() for k in ("name", "slug", "timezone")}
    try:
        await api.send("POST", "providers", "", body)
    except (InvalidInput, Conflict) as exc:
        errors = field_errors(exc)
        if isinstance(exc, Conflict) and "" in errors:
            errors = {"slug": "This address is taken; choose another."}
        return render(
            "console/welcome.html",
            title=STEPS[0],
            step=1,
            steps=STEPS,
            values=form,
            errors=errors,
            zones=time_zones(),
            nonce=new_nonce(),
            status_code=422,
        )
    return redirect("/console/welcome/service")


@router.get("/console/welcome/service")
async def first_service(api: ApiDep) -> Response:
    provider = await api.my_provider()
    values = service_form.defaults("simple")
    return _step("welcome_service.html", 2, provider=provider, values=values, nonce=new_nonce())


@router.post("/console/welcome/service")
async def create_first_service(request: Request, api: ApiDep, session: SessionDep) -> Response:
    provider = await api.my_provider()
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not await claim_nonce(session, form.get("nonce")):
        return redirect("/console/welcome/hours")
    try:
        body = service_form.to_body(form, "simple", provider["timezone"], creating=True)
        await api.send("POST", "providers", f"/{provider['id']}/services", body)
    except (service_form.FormErrors, InvalidInput, Conflict) as exc:
        errors = exc.errors if isinstance(exc, service_form.FormErrors) else field_errors(exc)
        return render(
            "console/welcome_service.html",
            title=STEPS[1],
            step=2,
            steps=STEPS,
            provider=provider,
            values=form,
            errors=errors,
            nonce=new_nonce(),
            status_code=422,
        )
    return redirect("/console/welcome/hours")


@router.get("/console/welcome/hours")
async def first_hours(api: ApiDep) -> Response:
    provider = await api.my_provider()
    return _step(
        "welcome_hours.html",
        3,
        provider=provider,
        days=hours_form.simple_week_values(None),
        weekdays=hours_form.WEEKDAYS,
    )


@router.post("/console/welcome/hours")
async def save_first_hours(request: Request, api: ApiDep) -> Response:
    """Putting the same week twice gives the same week: no nonce needed."""
    provider = await api.my_provider()
    form = await request.form()
    weekly, errors = hours_form.simple_week(form)
    if not errors:
        current = await api.get("providers", f"/{provider['id']}/availability")
        current["weekly"] = weekly
        try:
            await api.send("PUT", "providers", f"/{provider['id']}/availability", current)
        except InvalidInput as exc:
            errors = field_errors(exc)
    if errors:
        return render(
            "console/welcome_hours.html",
            title=STEPS[2],
            step=3,
            steps=STEPS,
            provider=provider,
            days=hours_form.simple_week_values(form),
            weekdays=hours_form.WEEKDAYS,
            errors=errors,
            status_code=422,
        )
    return redirect("/console/welcome/share")


@router.get("/console/welcome/share")
async def first_share(api: ApiDep) -> Response:
    provider = await api.my_provider()
    return _step("welcome_share.html", 4, provider=provider)
