"""Kopf handlers: thin glue between Kopf and the plain functions of this package.

Each handler reads the resource, calls :mod:`reconcile` (providers service) and
:mod:`resources` (desired objects), applies them, and writes status conditions and
Kubernetes Events for every outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import kopf
from prometheus_client import start_http_server

from calisera_operator import conditions, metrics
from calisera_operator.config import OperatorConfig
from calisera_operator.kube import KubeApi, KubeUnavailable
from calisera_operator.providers_api import ProvidersApi, ProvidersRejected, ProvidersUnavailable
from calisera_operator.reconcile import finalize_provider, sync_provider
from calisera_operator.resources import (
    GROUP,
    PLURAL,
    TENANT_LABEL,
    VERSION,
    IngressOptions,
    booking_page_configmap,
    domain_ingresses,
)

FINALIZER = "calisera.io/provider-cleanup"


async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config = OperatorConfig()
    memo.config = config
    memo.providers = ProvidersApi(
        config.providers_url, config.admin_token_value, timeout=config.request_timeout
    )
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="calisera.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="calisera.io", key="last-handled-configuration"
    )
    # Explicit namespaces only: no cluster-wide CRD/namespace scanning, so the operator
    # needs no ClusterRole.
    settings.scanning.disabled = True
    settings.posting.level = logging.INFO
    settings.networking.request_timeout = config.request_timeout * 6
    settings.watching.server_timeout = 300
    if config.metrics_port:
        start_http_server(config.metrics_port)


def login(memo: kopf.Memo, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """Kopf's own credentials, kept so that ConfigMaps/Ingresses are written with them too."""
    config: OperatorConfig = memo.config
    if config.kube_server:
        info: kopf.ConnectionInfo | None = kopf.ConnectionInfo(
            server=config.kube_server, default_namespace=config.namespace
        )
    else:
        info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
    if info is not None:
        memo.kube = KubeApi.connect(
            info.server,
            token=info.token,
            scheme=info.scheme,
            ca_path=str(info.ca_path) if info.ca_path else None,
            ca_data=info.ca_data,
            insecure=info.insecure,
            certificate_path=str(info.certificate_path) if info.certificate_path else None,
            private_key_path=str(info.private_key_path) if info.private_key_path else None,
            timeout=config.request_timeout,
        )
    return info


async def close_clients(memo: kopf.Memo, **_: Any) -> None:
    await memo.providers.aclose()
    if getattr(memo, "kube", None) is not None:
        await memo.kube.aclose()


def reconciliations_probe(**_: Any) -> float:
    """Shown on the liveness endpoint: how many reconciliations this process finished."""
    return sum(
        sample.value
        for metric in metrics.RECONCILIATIONS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


async def reconcile_tenant(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, retry: int, reason: str, **_: Any
) -> None:
    await reconcile(body, patch, memo, retry=retry, trigger=str(reason))


async def detect_drift(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """Someone changed the provider or deleted an object behind our back: repair it."""
    if body.metadata.get("deletionTimestamp"):
        return
    await reconcile(body, patch, memo, retry=0, trigger="drift")


async def release_provider(body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
    """The finalizer: suspend (or delete) the provider before the resource goes."""
    config: OperatorConfig = memo.config
    spec = body.spec
    policy = spec.get("deletionPolicy") or config.deletion_policy
    try:
        result = await finalize_provider(
            memo.providers, spec, body.status.get("providerId"), policy
        )
    except ProvidersUnavailable as exc:
        metrics.PROVIDERS_API_ERRORS.labels("unavailable").inc()
        kopf.warn(body, reason="ProvidersUnavailable", message=f"Cannot release: {exc}")
        raise kopf.TemporaryError(str(exc), delay=config.retry_delay(retry)) from exc
    except ProvidersRejected as exc:
        metrics.PROVIDERS_API_ERRORS.labels("rejected").inc()
        kopf.warn(body, reason="ReleaseRejected", message=str(exc))
        raise kopf.TemporaryError(str(exc), delay=config.retry_max_delay) from exc
    metrics.FINALIZATIONS.labels(result).inc()
    kopf.info(body, reason=f"Provider{result.capitalize()}", message=f"Provider {result}.")


async def reconcile(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, *, retry: int, trigger: str
) -> None:
    """Provider first, then the objects built from it, then status and an Event."""
    config: OperatorConfig = memo.config
    started = time.monotonic()
    spec = body.spec
    status = body.status
    generation = body.metadata.get("generation")
    now = datetime.now(UTC)
    current_conditions = list(status.get("conditions") or [])
    try:
        outcome = await sync_provider(memo.providers, spec, status.get("providerId"))
        applied = await apply_owned_objects(memo.kube, body, outcome.provider, config)
    except (ProvidersUnavailable, KubeUnavailable) as exc:
        kind = (
            "ProvidersUnavailable"
            if isinstance(exc, ProvidersUnavailable)
            else "KubernetesApiError"
        )
        metrics.PROVIDERS_API_ERRORS.labels("unavailable").inc()
        metrics.RECONCILIATIONS.labels(trigger, "retry").inc()
        patch.status["conditions"] = conditions.failed(
            current_conditions,
            now=now,
            generation=generation,
            reason=kind,
            message=str(exc)[:1000],
            retrying=True,
        )
        kopf.warn(body, reason=kind, message=str(exc)[:1000])
        raise kopf.TemporaryError(str(exc), delay=config.retry_delay(retry)) from exc
    except ProvidersRejected as exc:
        metrics.PROVIDERS_API_ERRORS.labels("rejected").inc()
        metrics.RECONCILIATIONS.labels(trigger, "rejected").inc()
        patch.status["conditions"] = conditions.failed(
            current_conditions,
            now=now,
            generation=generation,
            reason="ProviderRejected",
            message=str(exc)[:1000],
            retrying=False,
        )
        kopf.warn(body, reason="ProviderRejected", message=str(exc)[:1000])
        raise kopf.PermanentError(str(exc)) from exc
    finally:
        metrics.RECONCILE_SECONDS.labels(trigger).observe(time.monotonic() - started)

    provider = outcome.provider
    message = outcome.summary + (f" Objects: {applied}." if applied else "")
    patch.status["providerId"] = str(provider.get("id", ""))
    patch.status["bookingUrl"] = provider.get("booking_url", "")
    patch.status["qrCodeUrl"] = provider.get("qr_code_url", "")
    if generation is not None:
        patch.status["observedGeneration"] = generation
    new_conditions = conditions.reconciled(
        current_conditions,
        now=now,
        generation=generation,
        message="The provider in the providers service matches the spec.",
        suspended=bool(spec.get("suspended", False)),
    )
    if new_conditions != current_conditions:
        patch.status["conditions"] = new_conditions
    changed = outcome.created or outcome.changed or applied or new_conditions != current_conditions
    metrics.RECONCILIATIONS.labels(trigger, "changed" if changed else "unchanged").inc()
    if changed:
        reason = "Created" if outcome.created else "Reconciled"
        kopf.info(body, reason=reason, message=message)


async def apply_owned_objects(
    kube: KubeApi, body: Mapping[str, Any], provider: Mapping[str, Any], config: OperatorConfig
) -> str:
    """Apply the ConfigMap and custom-domain Ingresses; delete Ingresses of removed domains.

    Returns a short description of what changed ("" when nothing did).
    """
    options = IngressOptions(
        web_service=config.web_service,
        web_port=config.web_port,
        ingress_class=config.ingress_class,
        tls_issuer=config.tls_issuer,
    )
    meta = body["metadata"]
    changes: list[str] = []
    configmap = booking_page_configmap(body, provider)
    result = await kube.apply(configmap)
    if result != "unchanged":
        changes.append(f"ConfigMap {configmap['metadata']['name']} {result}")
    wanted = domain_ingresses(body, options)
    for ingress in wanted:
        result = await kube.apply(ingress)
        if result != "unchanged":
            changes.append(f"Ingress {ingress['metadata']['name']} {result}")
    wanted_names = {i["metadata"]["name"] for i in wanted}
    existing = await kube.list_labelled(
        "networking.k8s.io/v1", "Ingress", meta["namespace"], {TENANT_LABEL: meta["name"]}
    )
    for item in existing:
        name = item["metadata"]["name"]
        if name not in wanted_names:
            await kube.delete("networking.k8s.io/v1", "Ingress", meta["namespace"], name)
            changes.append(f"Ingress {name} deleted")
    return ", ".join(changes)


def register(registry: kopf.OperatorRegistry, *, drift_interval: float) -> kopf.OperatorRegistry:
    """Register the handlers in ``registry``; the drift interval is fixed per registry
    because Kopf takes timer intervals at registration."""
    kopf.on.startup(registry=registry)(configure)
    kopf.on.login(registry=registry)(login)
    kopf.on.cleanup(registry=registry)(close_clients)
    kopf.on.probe(id="reconciliations", registry=registry)(reconciliations_probe)
    for decorate in (
        kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry),
        kopf.on.create(GROUP, VERSION, PLURAL, registry=registry),
        kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry),
    ):
        decorate(reconcile_tenant)
    kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        interval=drift_interval,
        initial_delay=drift_interval,
        registry=registry,
    )(detect_drift)
    kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)(release_provider)
    return registry
