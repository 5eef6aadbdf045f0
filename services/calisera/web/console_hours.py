"""Console: availability (weekly hours with several intervals a day, date overrides,
time off) and the one-tap "block the next N hours"."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from calisera.core.dependencies import SessionDep
from calisera.core.errors import InvalidInput
from calisera.web import hours_form
from calisera.web.console_session import (
    ApiDep,
    ConsoleApi,
    claim_nonce,
    console_router,
    field_errors,
    new_nonce,
    render,
)
from calisera.web.pages import redirect

router = console_router()
BLOCK_CHOICES = (1, 2, 3, 4, 8)


def _hours(
    provider: dict[str, Any],
    availability: dict[str, Any],
    *,
    rows: list[list[dict[str, str]]] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        "console/hours.html",
        title="Hours",
        nav="hours",
        provider=provider,
        availability=availability,
        rows=rows or hours_form.weekly_rows(availability["weekly"]),
        weekdays=hours_form.WEEKDAYS,
        block_choices=BLOCK_CHOICES,
        errors=errors or {},
        alerts=_sections(errors or {}),
        values=values or {},
        nonce=new_nonce(),
        status_code=422 if errors else 200,
    )


def _section_field(part: str, field: str) -> str:
    """``time_off[3].end`` -> ``time_off.end``; a whole-entry error sits on its first field."""
    name = re.sub(rf"^{part}\[\d+\]", part, field)
    if name in (part, ""):
        return f"{part}.{'date' if part == 'overrides' else 'start'}"
    return name


def _sections(errors: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each form's errors, for the alert at its top."""
    parts: dict[str, dict[str, str]] = {"weekly": {}, "overrides": {}, "time_off": {}}
    for field, message in errors.items():
        part = next((p for p in ("overrides", "time_off") if field.startswith(p)), "weekly")
        parts[part][field] = message
    return parts


async def _load(api: ConsoleApi) -> tuple[dict[str, Any], dict[str, Any], str]:
    provider = await api.my_provider()
    path = f"/{provider['id']}/availability"
    return provider, await api.get("providers", path), path


@router.get("/console/hours")
async def hours(api: ApiDep) -> Response:
    provider, availability, _ = await _load(api)
    return _hours(provider, availability)


@router.post("/console/hours/weekly")
async def save_weekly(request: Request, api: ApiDep) -> Response:
    provider, availability, path = await _load(api)
    form = await request.form()
    rows = hours_form.weekly_rows([], form)
    weekly, names, errors = hours_form.weekly_from_rows(rows)
    if not errors:
        try:
            await api.send("PUT", "providers", path, {**availability, "weekly": weekly})
        except InvalidInput as exc:
            errors = hours_form.map_weekly_errors(field_errors(exc), names)
    if errors:
        return _hours(provider, availability, rows=rows, errors=errors)
    return redirect("/console/hours?saved=weekly")


async def _add(
    api: ConsoleApi,
    session: SessionDep,
    nonce: str,
    part: str,
    item: dict[str, Any],
    form: dict[str, str],
) -> Response:
    provider, availability, path = await _load(api)
    if not await claim_nonce(session, nonce):
        return redirect("/console/hours")
    others = [x for x in availability[part] if part != "overrides" or x["date"] != item["date"]]
    try:
        await api.send("PUT", "providers", path, {**availability, part: [*others, item]})
    except InvalidInput as exc:
        errors = {_section_field(part, k): v for k, v in field_errors(exc).items()}
        return _hours(provider, availability, errors=errors, values=form)
    return redirect(f"/console/hours?saved={part}")


@router.post("/console/hours/overrides")
async def add_override(
    api: ApiDep,
    session: SessionDep,
    nonce: Annotated[str, Form()] = "",
    date: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
) -> Response:
    """A date with other hours (or none: closed that day)."""
    intervals = [{"start": start, "end": end}] if start or end else []
    form = {"overrides.date": date, "overrides.start": start, "overrides.end": end}
    if not date:
        provider, availability, _ = await _load(api)
        return _hours(
            provider, availability, errors={"overrides.date": "Pick a date."}, values=form
        )
    return await _add(
        api, session, nonce, "overrides", {"date": date, "intervals": intervals}, form
    )


@router.post("/console/hours/time-off")
async def add_time_off(
    api: ApiDep,
    session: SessionDep,
    nonce: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    form = {"time_off.start": start, "time_off.end": end, "time_off.reason": reason}
    item: dict[str, Any] = {"start": start, "end": end, "reason": reason or None}
    return await _add(api, session, nonce, "time_off", item, form)


@router.post("/console/hours/block")
async def block_next_hours(
    api: ApiDep,
    session: SessionDep,
    nonce: Annotated[str, Form()] = "",
    hours: Annotated[int, Form()] = 1,
) -> Response:
    provider = await api.my_provider()
    hours = hours if hours in BLOCK_CHOICES else 1
    item = hours_form.block_from_now(provider["timezone"], hours, datetime.now(UTC))
    return await _add(api, session, nonce, "time_off", item, {})


@router.post("/console/hours/remove")
async def remove_entry(
    api: ApiDep,
    part: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
) -> Response:
    """Removes the override of a date or the time off starting at ``key`` (twice: once)."""
    _, availability, path = await _load(api)
    if part == "overrides":
        kept = [o for o in availability["overrides"] if o["date"] != key]
    elif part == "time_off":
        kept = [t for t in availability["time_off"] if t["start"] != key]
    else:
        return redirect("/console/hours")
    await api.send("PUT", "providers", path, {**availability, part: kept})
    return redirect("/console/hours")
