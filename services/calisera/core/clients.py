"""Base of the typed clients services use to call each other.

A client talks HTTP to ``CALISERA_<SERVICE>_URL`` when the other service runs elsewhere
(Kubernetes), or straight into this process's ASGI app when it is hosted here
(``calisera up``): same code path, same auth, no socket. Service-to-service calls carry
the platform admin token. Transport failures and 5xx answers become
:class:`ServiceUnavailable` (503 problem) so callers never leak a 500; a 4xx problem
becomes the very :class:`Problem` class the other service raised
(:func:`raise_for_problem`), the one place problems are mapped back to exceptions.
"""

from __future__ import annotations

from typing import Any

import httpx

from calisera.core.errors import ServiceUnavailable, problem_from_body
from calisera.core.platform import Platform

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class ServiceClient:
    service: str = ""

    def __init__(self, platform: Platform, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT):
        url = platform.settings.service_url(self.service)
        transport: httpx.AsyncBaseTransport | None = None
        if url is None:
            if not platform.hosts(self.service) or platform.asgi_app is None:
                raise RuntimeError(
                    f"the {self.service} service is not hosted in this process; "
                    f"set CALISERA_{self.service.upper()}_URL"
                )
            transport = httpx.ASGITransport(app=platform.asgi_app)
            url = f"http://{self.service}.in-process"
        headers = {"User-Agent": f"calisera-client/{self.service}"}
        token = platform.settings.admin_token_value
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=url, transport=transport, headers=headers, timeout=timeout
        )

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"The {self.service} service cannot be reached: {exc.__class__.__name__}"
            ) from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(
                f"The {self.service} service answered {response.status_code} for {path}"
            )
        if response.status_code == 404:
            raise_for_problem(response, service=self.service)
        return response

    async def aclose(self) -> None:
        await self._http.aclose()


def raise_for_problem(response: httpx.Response, *, service: str = "a service") -> None:
    """Raise the :class:`Problem` a 4xx answer carries (by its ``type``); 2xx/3xx pass."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    raise problem_from_body(
        response.status_code,
        body,
        default_detail=f"{service} answered {response.status_code}",
    )
