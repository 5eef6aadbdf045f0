"""Console: the provider's services of all three kinds (list, create, edit, archive)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from calisera.core.dependencies import SessionDep
from calisera.core.errors import Conflict, InvalidInput
from calisera.web import question_form, service_form
from calisera.web.console_session import (
    ApiDep,
    claim_nonce,
    console_router,
    field_errors,
    new_nonce,
    parse_id,
    render,
)
from calisera.web.pages import redirect

router = console_router()


@router.get("/console/services")
async def services_list(api: ApiDep) -> Response:
    provider = await api.my_provider()
    page = await api.get("providers", f"/{provider['id']}/services", limit=200)
    items = page["items"]
    return render(
        "console/services.html",
        title="Services",
        nav="services",
        provider=provider,
        active=[s for s in items if s["active"]],
        archived=[s for s in items if not s["active"]],
        kinds=service_form.KINDS,
    )


@router.get("/console/services/new")
async def new_service(api: ApiDep, kind: str = "simple") -> Response:
    provider = await api.my_provider()
    kind = kind if kind in service_form.KINDS else "simple"
    return _form(provider, None, kind, service_form.defaults(kind), {})


def _form(
    provider: dict[str, Any],
    service: dict[str, Any] | None,
    kind: str,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    return render(
        "console/service_form.html",
        title=f"Edit {service['name']}" if service else "New service",
        nav="services",
        provider=provider,
        service=service,
        kind=kind,
        kinds=service_form.KINDS,
        values=values,
        errors=errors,
        question_rows=question_form.shown_rows(values),
        questions_invalid=any(k.startswith("questions") for k in errors),
        question_kinds=list(question_form.KINDS.items()),
        nonce=new_nonce(),
        status_code=422 if errors else 200,
    )


async def save_service(
    api: ApiDep,
    provider: dict[str, Any],
    form: dict[str, str],
    service: dict[str, Any] | None,
    kind: str,
) -> dict[str, Any] | Response:
    """Create or update; the saved service, or the form again with the errors shown."""
    base = f"/{provider['id']}/services"
    try:
        body = service_form.to_body(form, kind, provider["timezone"], creating=service is None)
        if service is None:
            saved: dict[str, Any] = await api.send("POST", "providers", base, body)
        else:
            saved = await api.send("PATCH", "providers", f"{base}/{service['id']}", body)
    except service_form.FormErrors as exc:
        return _form(provider, service, kind, form, exc.errors)
    except (InvalidInput, Conflict) as exc:
        errors = {service_form.api_field(k, form): v for k, v in field_errors(exc).items()}
        return _form(provider, service, kind, form, errors)
    return saved


@router.post("/console/services/new")
async def create_service(request: Request, api: ApiDep, session: SessionDep) -> Response:
    provider = await api.my_provider()
    form = {k: str(v) for k, v in (await request.form()).items()}
    kind = form.get("kind", "simple")
    kind = kind if kind in service_form.KINDS else "simple"
    if not await claim_nonce(session, form.get("nonce")):
        return redirect("/console/services")
    saved = await save_service(api, provider, form, None, kind)
    if isinstance(saved, Response):
        return saved
    return redirect(f"/console/services?saved={saved['id']}")


@router.get("/console/services/{service_id}")
async def edit_service(api: ApiDep, service_id: str) -> Response:
    provider = await api.my_provider()
    service = await api.get("providers", f"/{provider['id']}/services/{parse_id(service_id)}")
    values = service_form.to_values(service, provider["timezone"])
    return _form(provider, service, service["kind"], values, {})


@router.post("/console/services/{service_id}")
async def update_service(request: Request, api: ApiDep, service_id: str) -> Response:
    """A PATCH with the same values twice changes nothing more: no nonce needed."""
    provider = await api.my_provider()
    service = await api.get("providers", f"/{provider['id']}/services/{parse_id(service_id)}")
    form = {k: str(v) for k, v in (await request.form()).items()}
    saved = await save_service(api, provider, form, service, service["kind"])
    if isinstance(saved, Response):
        return saved
    return redirect(f"/console/services?saved={saved['id']}")


@router.post("/console/services/{service_id}/archive")
async def archive_service(api: ApiDep, service_id: str) -> Response:
    provider = await api.my_provider()
    await api.call("DELETE", "providers", f"/{provider['id']}/services/{parse_id(service_id)}")
    return redirect("/console/services")


@router.post("/console/services/{service_id}/restore")
async def restore_service(api: ApiDep, service_id: str) -> Response:
    provider = await api.my_provider()
    path = f"/{provider['id']}/services/{parse_id(service_id)}"
    await api.send("PATCH", "providers", path, {"active": True})
    return redirect("/console/services")
