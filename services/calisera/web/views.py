"""Presentation: Jinja2 templates (autoescaped), time shown in the customer's zone,
slots grouped by day.

Nothing here does I/O beyond reading templates; the page routes (:mod:`calisera.web.pages`)
fetch data through :mod:`calisera.web.clients` and hand plain values to these helpers.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi.responses import HTMLResponse

from calisera.web.clients import FreeSlot

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"

_ACCENT = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_ACCENT = "#0f766e"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["minutes"] = duration_text
    return env


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page; never cached (free times change, manage pages carry a token)."""
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def not_found_page(message: str | None = None) -> HTMLResponse:
    return render(
        "not_found.html",
        status_code=404,
        message=message or "There is no booking page at this address.",
        provider=None,
    )


def unavailable_page() -> HTMLResponse:
    response = render("unavailable.html", status_code=503, provider=None)
    response.headers["Retry-After"] = "5"
    return response


# --- time zones ----------------------------------------------------------------------


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def zone_choices() -> list[str]:
    """IANA zones people pick from (no ``posix/``, ``Etc/`` or legacy aliases)."""
    picked = (
        z
        for z in _known_zones()
        if "/" in z and z.split("/")[0] not in ("Etc", "SystemV", "US", "posix")
    )
    return sorted({*picked, "UTC"})


def customer_zone(requested: str | None, fallback: str) -> str:
    """The zone to show times in: the browser's (``?tz=``) when it is a real IANA zone."""
    if requested and requested in _known_zones():
        return requested
    return fallback


def zone_label(zone: str) -> str:
    """``America/New_York`` -> ``New York``."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(zoneinfo.ZoneInfo(zone))


def time_text(instant: datetime, zone: str) -> str:
    """``09:30`` in ``zone`` (24-hour clock: unambiguous everywhere)."""
    return local(instant, zone).strftime("%H:%M")


def day_text(day: date) -> str:
    """``Tuesday, 1 December 2026``."""
    return f"{day:%A}, {day.day} {day:%B %Y}"


def short_day_text(day: date) -> str:
    """``Tue 1 Dec``."""
    return f"{day:%a} {day.day} {day:%b}"


def when_text(start: datetime, end: datetime, zone: str) -> str:
    """``Tuesday, 1 December 2026, 09:30 to 10:15 (New York)``."""
    day = day_text(local(start, zone).date())
    return f"{day}, {time_text(start, zone)} to {time_text(end, zone)} ({zone_label(zone)})"


def duration_text(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def today_in(zone: str, now: datetime) -> date:
    return local(now, zone).date()


def accent_color(value: str | None) -> str:
    return value if value and _ACCENT.match(value) else DEFAULT_ACCENT


# --- slot picker ---------------------------------------------------------------------


@dataclass(frozen=True)
class SlotView:
    start: datetime
    end: datetime
    seats_left: int
    time: str
    iso: str


@dataclass(frozen=True)
class DayView:
    day: date
    title: str
    slots: Sequence[SlotView]


def group_by_day(slots: Iterable[FreeSlot], zone: str) -> list[DayView]:
    """Slots grouped by their local date in ``zone``, days and slots in time order."""
    days: dict[date, list[SlotView]] = {}
    for slot in sorted(slots, key=lambda s: s.start):
        start = local(slot.start, zone)
        days.setdefault(start.date(), []).append(
            SlotView(
                start=slot.start,
                end=slot.end,
                seats_left=slot.seats_left,
                time=time_text(slot.start, zone),
                iso=slot.start.isoformat(),
            )
        )
    return [DayView(day, day_text(day), tuple(views)) for day, views in days.items()]


def query(**params: object) -> str:
    """``?a=1&b=2`` of the params that are set."""
    kept = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    return "?" + urlencode(kept) if kept else ""
