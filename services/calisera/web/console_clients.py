"""Console: clients, the people who booked, found by name, e-mail or phone, each with
their bookings, and the list as CSV files for a spreadsheet: one row per client, or one
row per booking with the answers to the services' booking questions (a column per
question label, in the order they first appear).

Built from the provider's bookings (``GET /api/v1/providers/{id}/bookings``, paged by its
cursor) over a year back and a year ahead, grouped by the customer's e-mail: the bookings
service owns them and has no customers resource yet. At most :data:`MAX_PAGES` pages are
read (10,000 bookings); a bigger business needs that resource (a note in the screen says
when the list was cut).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.responses import Response

from calisera.web import views
from calisera.web.clients import Answer
from calisera.web.console_session import ApiDep, ConsoleApi, console_router, render

router = console_router()
WINDOW = timedelta(days=365)
PAGE_SIZE = 200
MAX_PAGES = 50
QUERY_LIMIT = 200
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Client:
    name: str
    email: str
    phone: str
    bookings: list[dict[str, Any]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for b in self.bookings if b["status"] == status)

    @property
    def first(self) -> str:
        return self.bookings[0]["start"] if self.bookings else ""

    @property
    def last(self) -> str:
        return self.bookings[-1]["start"] if self.bookings else ""

    def matches(self, words: list[str]) -> bool:
        text = f"{self.name} {self.email} {self.phone}".casefold()
        return all(w in text for w in words)


async def provider_bookings(api: ConsoleApi, provider_id: str) -> tuple[list[dict[str, Any]], bool]:
    """The bookings of the window, oldest first; ``True`` when the list was cut."""
    now = datetime.now(UTC)
    params: dict[str, Any] = {
        "from": (now - WINDOW).isoformat(),
        "to": (now + WINDOW).isoformat(),
        "limit": PAGE_SIZE,
    }
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = await api.get("providers", f"/{provider_id}/bookings", **params)
        items.extend(page["items"])
        if not page.get("next_cursor"):
            return sorted(items, key=lambda b: b["start"]), False
        params["cursor"] = page["next_cursor"]
    return sorted(items, key=lambda b: b["start"]), True


def group_clients(bookings: list[dict[str, Any]], zone: str) -> list[Client]:
    """One client per e-mail (case-insensitive), the newest name and phone they gave."""
    by_email: dict[str, Client] = {}
    for booking in bookings:
        customer = booking.get("customer") or {}
        email = str(customer.get("email") or "").strip()
        key = email.casefold()
        client = by_email.setdefault(key, Client(name="", email=email, phone=""))
        client.name = customer.get("name") or client.name
        client.phone = customer.get("phone") or client.phone
        start = datetime.fromisoformat(booking["start"])
        when = f"{views.day_text(views.local(start, zone).date())}, {views.time_text(start, zone)}"
        client.bookings.append({**booking, "when": when})
    return sorted(by_email.values(), key=lambda c: (c.name.casefold(), c.email))


def search(clients: list[Client], q: str) -> list[Client]:
    words = q[:QUERY_LIMIT].casefold().split()
    return [c for c in clients if c.matches(words)] if words else clients


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def clients_csv(clients: list[Client]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["name", "email", "phone", "bookings", "completed", "cancelled", "no_show", "first",
         "last"]
    )  # fmt: skip
    for c in clients:
        writer.writerow(
            [spreadsheet_safe(v) for v in (c.name, c.email, c.phone)]
            + [len(c.bookings), c.count("completed"), c.count("cancelled"), c.count("no_show")]
            + [c.first, c.last]
        )
    return out.getvalue()


def bookings_csv(clients: list[Client]) -> str:
    """One row per booking of ``clients``, oldest first, with a column per question."""
    rows = sorted((b for c in clients for b in c.bookings), key=lambda b: b["start"])
    labels: list[str] = []
    for booking in rows:
        for answer in booking.get("answers") or []:
            if answer["label"] not in labels:
                labels.append(answer["label"])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["start", "end", "status", "service", "name", "email", "phone", "notes", *labels]
    )
    for b in rows:
        customer = b.get("customer") or {}
        answers = {a["label"]: Answer.model_validate(a).text for a in b.get("answers") or []}
        texts = [
            b.get("service_name") or "",
            customer.get("name") or "",
            customer.get("email") or "",
            customer.get("phone") or "",
            b.get("notes") or "",
            *(answers.get(label, "") for label in labels),
        ]
        writer.writerow([b["start"], b["end"], b["status"], *map(spreadsheet_safe, texts)])
    return out.getvalue()


def _csv_file(body: str, filename: str) -> Response:
    return Response(
        "\ufeff" + body,  # a BOM: spreadsheets then read UTF-8 names right
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/console/clients")
async def clients_screen(api: ApiDep, q: str = "") -> Response:
    provider = await api.my_provider()
    bookings, cut = await provider_bookings(api, provider["id"])
    everyone = group_clients(bookings, provider["timezone"])
    found = search(everyone, q)
    return render(
        "console/clients.html",
        title="Clients",
        nav="clients",
        provider=provider,
        q=q[:QUERY_LIMIT],
        clients=found,
        total=len(everyone),
        cut=cut,
    )


@router.get("/console/clients.csv")
async def clients_export(api: ApiDep, q: str = "") -> Response:
    provider = await api.my_provider()
    bookings, _ = await provider_bookings(api, provider["id"])
    found = search(group_clients(bookings, provider["timezone"]), q)
    return _csv_file(clients_csv(found), f"{provider['slug']}-clients.csv")


@router.get("/console/bookings.csv")
async def bookings_export(api: ApiDep, q: str = "") -> Response:
    """The bookings of the clients found (all with no ``q``), answers included."""
    provider = await api.my_provider()
    bookings, _ = await provider_bookings(api, provider["id"])
    found = search(group_clients(bookings, provider["timezone"]), q)
    return _csv_file(bookings_csv(found), f"{provider['slug']}-bookings.csv")
