"""Weekly hours as forms: the onboarding's one-interval week, the full editor's several
intervals per day, and "block the next N hours" as a time-off range.

The providers API takes the whole availability in one ``PUT``; the console reads it,
changes one part and puts it back. Its errors name list positions (``weekly[3].end``),
which :func:`weekly_from_rows` maps back to the row a person typed into.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
GRID_MINUTES = 5


def _hhmm(value: str) -> str:
    return value[:5]


# --- onboarding: one interval a day ---------------------------------------------------


def simple_week_values(form: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Per weekday ``{open, start, end}``; no form yet: Monday to Friday, 9 to 17."""
    if form is None:
        return [{"open": d < 5, "start": "09:00", "end": "17:00"} for d in range(7)]
    return [
        {
            "open": form.get(f"day{d}.open") == "on",
            "start": str(form.get(f"day{d}.start", "")),
            "end": str(form.get(f"day{d}.end", "")),
        }
        for d in range(7)
    ]


def simple_week(form: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    weekly: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for d, day in enumerate(simple_week_values(form)):
        if not day["open"]:
            continue
        if not day["start"] or not day["end"]:
            errors[f"day{d}"] = f"Enter when {WEEKDAYS[d]} starts and ends."
        elif day["end"] <= day["start"]:
            errors[f"day{d}"] = "The end must be after the start."
        else:
            weekly.append({"weekday": d, "start": day["start"], "end": day["end"]})
    return weekly, errors


# --- the full editor: several intervals a day -----------------------------------------


def weekly_rows(
    weekly: list[dict[str, Any]], form: Mapping[str, Any] | None = None
) -> list[list[dict[str, str]]]:
    """Per weekday its intervals plus one empty row to add another."""
    if form is not None:
        days: list[list[dict[str, str]]] = []
        for d in range(7):
            rows = []
            i = 0
            while f"w{d}.{i}.start" in form:
                rows.append(
                    {"start": str(form[f"w{d}.{i}.start"]), "end": str(form[f"w{d}.{i}.end"])}
                )
                i += 1
            days.append(rows)
        return days
    days = [[] for _ in range(7)]
    for rule in sorted(weekly, key=lambda r: (r["weekday"], r["start"])):
        days[rule["weekday"]].append({"start": _hhmm(rule["start"]), "end": _hhmm(rule["end"])})
    for rows in days:
        rows.append({"start": "", "end": ""})
    return days


def weekly_from_rows(
    rows: list[list[dict[str, str]]],
) -> tuple[list[dict[str, Any]], list[str], dict[str, str]]:
    """The API's ``weekly`` list, the row name of each of its entries, and the rows that
    are half filled in."""
    weekly: list[dict[str, Any]] = []
    names: list[str] = []
    errors: dict[str, str] = {}
    for d, day in enumerate(rows):
        for i, row in enumerate(day):
            start, end = row["start"].strip(), row["end"].strip()
            if not start and not end:
                continue
            if not start or not end:
                errors[f"w{d}.{i}"] = "Enter both a start and an end."
                continue
            weekly.append({"weekday": d, "start": start, "end": end})
            names.append(f"w{d}.{i}")
    return weekly, names, errors


def map_weekly_errors(errors: Mapping[str, str], names: list[str]) -> dict[str, str]:
    """``weekly[3].end`` -> the row it came from (``w1.0``); other fields unchanged."""
    mapped: dict[str, str] = {}
    for field, message in errors.items():
        if field.startswith("weekly["):
            index = int(field[len("weekly[") : field.index("]")])
            if index < len(names):
                mapped.setdefault(names[index], message)
                continue
        mapped.setdefault(field, message)
    return mapped


# --- block the next N hours -------------------------------------------------------------


def block_from_now(timezone: str, hours: int, now: datetime) -> dict[str, str]:
    """A time-off range from now (down to the 5-minute grid) for ``hours`` hours, in the
    provider's wall clock as the API wants it."""
    local = now.astimezone(zoneinfo.ZoneInfo(timezone)).replace(tzinfo=None)
    start = local.replace(second=0, microsecond=0) - timedelta(minutes=local.minute % GRID_MINUTES)
    end = start + timedelta(hours=hours, minutes=GRID_MINUTES)
    return {
        "start": start.isoformat(timespec="minutes"),
        "end": end.isoformat(timespec="minutes"),
        "reason": f"Blocked for {hours} h from the console",
    }
