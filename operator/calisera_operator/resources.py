"""The Kubernetes objects a ProviderTenant owns, computed from its spec (no I/O).

* one ConfigMap with the booking page configuration the web service reads;
* one Ingress per custom domain, routing the whole host to the web service, with the
  root redirected to the tenant's booking page and TLS through cert-manager when enabled.

Every object carries an owner reference to the tenant, so Kubernetes' garbage collector
removes them with it, and the ``calisera.io/tenant`` label the operator finds them by.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GROUP = "calisera.io"
VERSION = "v1alpha1"
PLURAL = "providertenants"
KIND = "ProviderTenant"
TENANT_LABEL = "calisera.io/tenant"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY = {"app.kubernetes.io/managed-by": "calisera-operator"}
CERT_MANAGER_ISSUER = "cert-manager.io/cluster-issuer"
APP_ROOT = "nginx.ingress.kubernetes.io/app-root"


@dataclass(frozen=True)
class IngressOptions:
    """How custom-domain Ingresses are built (from the operator's configuration)."""

    web_service: str
    web_port: int = 8000
    ingress_class: str = ""
    tls_issuer: str = ""


def owner_reference(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = body["metadata"]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def tenant_labels(tenant_name: str, component: str) -> dict[str, str]:
    return {**MANAGED_BY, TENANT_LABEL: tenant_name, COMPONENT_LABEL: component}


def bounded_name(*parts: str, limit: int = 63) -> str:
    """``parts`` joined by hyphens; past ``limit`` characters, cut and suffixed by a hash."""
    name = "-".join(p.strip("-") for p in parts if p)
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


def booking_page_name(tenant_name: str) -> str:
    return bounded_name(tenant_name, "booking-page", limit=253)


def domain_ingress_name(tenant_name: str, domain: str) -> str:
    return bounded_name(tenant_name, domain.replace(".", "-"))


def booking_page_config(spec: Mapping[str, Any], provider: Mapping[str, Any]) -> dict[str, Any]:
    """What the web service needs to render the tenant's booking page."""
    branding = spec.get("branding") or {}
    limits = spec.get("planLimits") or {}
    return {
        "slug": spec["slug"],
        "providerId": str(provider.get("id", "")),
        "displayName": spec["displayName"],
        "timezone": spec["timezone"],
        "bookingUrl": provider.get("booking_url", ""),
        "qrCodeUrl": provider.get("qr_code_url", ""),
        "suspended": bool(spec.get("suspended", False)),
        "customDomains": list(spec.get("customDomains") or []),
        "branding": {
            "accentColor": branding.get("accentColor"),
            "logoUrl": branding.get("logoUrl"),
            "welcomeText": branding.get("welcomeText"),
        },
        "planLimits": {
            "maxServices": limits.get("maxServices", 20),
            "maxMonthlyBookings": limits.get("maxMonthlyBookings", 1000),
        },
    }


def booking_page_configmap(body: Mapping[str, Any], provider: Mapping[str, Any]) -> dict[str, Any]:
    meta = body["metadata"]
    spec = body["spec"]
    config = booking_page_config(spec, provider)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": booking_page_name(meta["name"]),
            "namespace": meta["namespace"],
            "labels": tenant_labels(meta["name"], "booking-page"),
            "ownerReferences": [owner_reference(body)],
        },
        "data": {
            "booking-page.json": json.dumps(config, indent=2, sort_keys=True) + "\n",
            "slug": config["slug"],
            "providerId": config["providerId"],
            "bookingUrl": config["bookingUrl"],
        },
    }


def domain_ingress(body: Mapping[str, Any], domain: str, options: IngressOptions) -> dict[str, Any]:
    meta = body["metadata"]
    spec = body["spec"]
    name = domain_ingress_name(meta["name"], domain)
    annotations: dict[str, str | None] = {
        APP_ROOT: f"/p/{spec['slug']}",
        CERT_MANAGER_ISSUER: options.tls_issuer or None,
    }
    ingress_spec: dict[str, Any] = {
        "rules": [
            {
                "host": domain,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {
                                "service": {
                                    "name": options.web_service,
                                    "port": {"number": options.web_port},
                                }
                            },
                        }
                    ]
                },
            }
        ],
        "tls": (
            [{"hosts": [domain], "secretName": bounded_name(name, "tls", limit=253)}]
            if options.tls_issuer
            else None
        ),
        "ingressClassName": options.ingress_class or None,
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": tenant_labels(meta["name"], "custom-domain"),
            "annotations": annotations,
            "ownerReferences": [owner_reference(body)],
        },
        "spec": ingress_spec,
    }


def domain_ingresses(body: Mapping[str, Any], options: IngressOptions) -> list[dict[str, Any]]:
    domains = body["spec"].get("customDomains") or []
    return [domain_ingress(body, domain, options) for domain in dict.fromkeys(domains)]


def without_nulls(obj: Any) -> Any:
    """The object as it is created: ``None`` entries (meaning "absent") dropped."""
    if isinstance(obj, dict):
        return {k: without_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [without_nulls(v) for v in obj]
    return obj
