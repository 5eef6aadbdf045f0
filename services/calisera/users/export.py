"""A signed-in provider's data, exported: the account, every provider (booking page)
they own with its services, availability and bookings with the customers' details.

Collected through the other services' public APIs **with the caller's own access
token**, so the export shows exactly what the owner may read there — the ownership
checks of each service decide, and no admin credential widens them. JSON is one
document; CSV is a ZIP of one table per kind (``account.csv``, ``providers.csv``,
``services.csv``, ``availability.csv``, ``bookings.csv``), nested fields flattened with
dots (``customer.email``). Cells starting with ``= + - @`` (or tab/CR) are prefixed with
``'`` so a spreadsheet does not run them as formulas (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from calisera.core.clients import ServiceClient, raise_for_problem
from calisera.core.platform import Platform

PAGE = 200
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _ProvidersApi(ServiceClient):
    service = "providers"


class _BookingsApi(ServiceClient):
    service = "bookings"


@dataclass
class ExportState:
    """The users service's clients of the APIs an export reads (built in its lifespan)."""

    providers: ServiceClient
    bookings: ServiceClient

    @classmethod
    def reachable(cls, platform: Platform) -> ExportState | None:
        def reach(service: str) -> bool:
            return platform.hosts(service) or bool(platform.settings.service_url(service))

        if not (reach("providers") and reach("bookings")):
            return None
        return cls(_ProvidersApi(platform), _BookingsApi(platform))

    async def aclose(self) -> None:
        await self.providers.aclose()
        await self.bookings.aclose()


async def _get(client: ServiceClient, path: str, token: str, **params: Any) -> Any:
    response = await client.request(
        "GET", path, params=params or None, headers={"Authorization": f"Bearer {token}"}
    )
    raise_for_problem(response, service=client.service)
    return response.json()


async def _pages(client: ServiceClient, path: str, token: str) -> AsyncIterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        page = await _get(client, path, token, **params)
        for item in page["items"]:
            yield item
        cursor = page.get("next_cursor")
        if not cursor:
            return


async def collect(state: ExportState, token: str, account: dict[str, Any]) -> dict[str, Any]:
    """The whole export as one JSON-ready document."""
    providers = []
    async for provider in _pages(state.providers, "/api/v1/providers", token):
        pid = provider["id"]
        base = f"/api/v1/providers/{pid}"
        services = [s async for s in _pages(state.providers, f"{base}/services", token)]
        availability = await _get(state.providers, f"{base}/availability", token)
        bookings = [b async for b in _pages(state.bookings, f"{base}/bookings", token)]
        providers.append(
            {
                "provider": provider,
                "services": services,
                "availability": availability,
                "bookings": bookings,
            }
        )
    return {
        "exported_at": datetime.now(UTC).isoformat(),
        "account": account,
        "providers": providers,
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}{key}."))
        return out
    if isinstance(value, list):
        return {prefix[:-1]: json.dumps(value, ensure_ascii=False)}
    return {prefix[:-1]: value}


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _table(rows: Iterable[dict[str, Any]]) -> str:
    flat = [_flatten(r) for r in rows]
    columns: list[str] = []
    for row in flat:
        columns.extend(c for c in row if c not in columns)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in flat:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def as_csv_zip(document: dict[str, Any]) -> bytes:
    """The export as a ZIP of CSV tables (one per kind of record)."""
    entries = document["providers"]
    tables = {
        "account.csv": [document["account"]],
        "providers.csv": [e["provider"] for e in entries],
        "services.csv": [s for e in entries for s in e["services"]],
        "availability.csv": [
            {"provider_id": e["provider"]["id"], "kind": kind, **rule}
            for e in entries
            for kind in ("weekly", "overrides")
            for rule in e["availability"].get(kind, [])
        ],
        "bookings.csv": [b for e in entries for b in e["bookings"]],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in tables.items():
            archive.writestr(name, _table(rows))
    return buffer.getvalue()
