"""The few Kubernetes API calls the operator makes for the objects a tenant owns.

Kopf watches ProviderTenants and patches their status itself; ConfigMaps and Ingresses
are written here over plain HTTP with the same credentials Kopf logged in with (no
client library is needed for get/create/merge-patch/list/delete).
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from calisera_operator.resources import without_nulls

ApplyResult = Literal["created", "updated", "unchanged"]

_PATHS = {
    ("v1", "ConfigMap"): "/api/v1/namespaces/{namespace}/configmaps",
    (
        "networking.k8s.io/v1",
        "Ingress",
    ): "/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses",
}


class KubeUnavailable(Exception):
    """The Kubernetes API failed or refused a write; the handler retries."""


class KubeApi:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @classmethod
    def connect(
        cls,
        server: str,
        *,
        token: str | None = None,
        scheme: str | None = None,
        ca_path: str | None = None,
        ca_data: bytes | str | None = None,
        insecure: bool | None = None,
        certificate_path: str | None = None,
        private_key_path: str | None = None,
        timeout: float = 10.0,
    ) -> KubeApi:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"{scheme or 'Bearer'} {token}"
        verify: ssl.SSLContext | bool = True
        if insecure:
            verify = False
        elif ca_path or ca_data:
            context = ssl.create_default_context(cafile=ca_path or None)
            if ca_data:
                pem = ca_data.decode() if isinstance(ca_data, bytes) else ca_data
                context.load_verify_locations(cadata=_pem(pem))
            verify = context
        if certificate_path and isinstance(verify, ssl.SSLContext):
            verify.load_cert_chain(certificate_path, private_key_path)
        http = httpx.AsyncClient(base_url=server, headers=headers, verify=verify, timeout=timeout)
        return cls(http)

    async def aclose(self) -> None:
        await self._http.aclose()

    @staticmethod
    def _collection(obj: Mapping[str, Any]) -> str:
        path = _PATHS[(obj["apiVersion"], obj["kind"])]
        return path.format(namespace=obj["metadata"]["namespace"])

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise KubeUnavailable(f"{method} {url}: {exc!r}") from exc
        if response.status_code >= 400 and response.status_code != 404:
            raise KubeUnavailable(
                f"{method} {url}: HTTP {response.status_code} {response.text[:300]}"
            )
        return response

    async def apply(self, desired: Mapping[str, Any]) -> ApplyResult:
        """Create the object, or merge-patch it when it differs from ``desired``.

        ``None`` values in ``desired`` mean "absent" (they remove the field on a patch).
        """
        collection = self._collection(desired)
        url = f"{collection}/{desired['metadata']['name']}"
        response = await self._request("GET", url)
        if response.status_code == 404:
            await self._request("POST", collection, json=without_nulls(desired))
            return "created"
        if not differs(desired, response.json()):
            return "unchanged"
        await self._request(
            "PATCH",
            url,
            json=dict(desired),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        return "updated"

    async def list_labelled(
        self, api_version: str, kind: str, namespace: str, labels: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """Objects carrying all ``labels`` (filtered here too: not every server filters)."""
        collection = _PATHS[(api_version, kind)].format(namespace=namespace)
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        response = await self._request("GET", collection, params={"labelSelector": selector})
        if response.status_code == 404:
            return []
        items: list[dict[str, Any]] = response.json().get("items") or []
        return [
            item
            for item in items
            if all(
                (item.get("metadata", {}).get("labels") or {}).get(k) == v
                for k, v in labels.items()
            )
            and (item.get("metadata") or {}).get("namespace", namespace) == namespace
        ]

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        collection = _PATHS[(api_version, kind)].format(namespace=namespace)
        await self._request("DELETE", f"{collection}/{name}")


def differs(desired: Any, current: Any) -> bool:
    """Whether ``current`` lacks something ``desired`` asks for (extra fields are fine)."""
    if desired is None:
        return current is not None
    if isinstance(desired, Mapping):
        if not isinstance(current, Mapping):
            return True
        return any(differs(value, current.get(key)) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(current, list) or len(desired) != len(current):
            return True
        return any(differs(d, c) for d, c in zip(desired, current, strict=True))
    return bool(desired != current)


def _pem(data: str) -> str:
    """CA data as PEM (kubeconfigs carry it base64-encoded)."""
    if "BEGIN CERTIFICATE" in data:
        return data
    return base64.b64decode(data).decode()
