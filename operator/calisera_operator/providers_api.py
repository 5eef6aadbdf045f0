"""A small HTTP client of the providers service's public contract (shared/API.md).

The operator runs in its own pod and talks to providers like any other client: with the
platform admin token, over ``/api/v1/providers``. Failures are split the way the
operator needs them: :class:`ProvidersUnavailable` (connection errors, timeouts, 5xx;
retry with backoff) and :class:`ProvidersRejected` (4xx: the spec itself is wrong or the
slug belongs to someone else; retrying the same spec cannot help).
"""

from __future__ import annotations

from typing import Any

import httpx


class ProvidersError(Exception):
    """A call to the providers service failed."""


class ProvidersUnavailable(ProvidersError):
    """The providers service could not be reached or failed (5xx): try again later."""


class ProvidersRejected(ProvidersError):
    """The providers service refused the request (4xx other than 404)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"providers service answered {status}: {detail}")
        self.status = status
        self.detail = detail


class ProvidersApi:
    """``/api/v1/providers`` with the admin token."""

    def __init__(
        self,
        base_url: str,
        admin_token: str | None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if admin_token:
            headers["Authorization"] = f"Bearer {admin_token}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, path: str, *, json: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The JSON answer; None for 404 and for an empty 2xx answer."""
        try:
            response = await self._http.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise ProvidersUnavailable(f"{method} {path}: {exc!r}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise ProvidersUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ProvidersRejected(response.status_code, _problem_detail(response))
        if not response.content:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def get(self, provider_id: str) -> dict[str, Any] | None:
        """The full provider record (admin view), or None when there is none."""
        return await self._call("GET", f"/api/v1/providers/{provider_id}")

    async def get_by_slug(self, slug: str) -> dict[str, Any] | None:
        """The public profile of the provider with ``slug``, or None."""
        return await self._call("GET", f"/api/v1/providers/by-slug/{slug}")

    async def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        created = await self._call("POST", "/api/v1/providers", json=fields)
        if created is None:
            raise ProvidersUnavailable("POST /api/v1/providers answered without a body")
        return created

    async def update(self, provider_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        updated = await self._call("PATCH", f"/api/v1/providers/{provider_id}", json=changes)
        if updated is None:
            raise ProvidersRejected(404, f"provider {provider_id} disappeared during the update")
        return updated

    async def set_suspended(self, provider_id: str, suspended: bool) -> dict[str, Any] | None:
        """Suspend or resume; None when the provider does not exist (any more)."""
        return await self._call(
            "PATCH", f"/api/v1/providers/{provider_id}", json={"suspended": suspended}
        )

    async def delete(self, provider_id: str) -> None:
        await self._call("DELETE", f"/api/v1/providers/{provider_id}")


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        errors = body.get("errors") or []
        fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
        detail = str(body.get("detail") or body.get("title") or "")
        return f"{detail} ({fields})" if fields else detail
    return str(body)[:500]
