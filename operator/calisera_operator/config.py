"""Operator settings, read once from the environment at start-up and passed down."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DeletionPolicy = Literal["Suspend", "Delete"]


class OperatorConfig(BaseSettings):
    """Everything the operator is configured with (``CALISERA_OPERATOR_*`` and two shared names)."""

    model_config = SettingsConfigDict(
        env_prefix="CALISERA_OPERATOR_", extra="ignore", frozen=True, populate_by_name=True
    )

    admin_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CALISERA_ADMIN_TOKEN")
    )
    """Platform admin token sent to the providers service."""

    providers_url: str = Field(
        default="http://127.0.0.1:8000", validation_alias=AliasChoices("CALISERA_PROVIDERS_URL")
    )
    """Base URL of the providers service."""

    namespace: str = "default"
    """Namespace whose ProviderTenants this operator reconciles."""

    peering: str = ""
    """Name of the KopfPeering object shared by the replicas; empty = standalone."""

    web_service: str = "calisera-web"
    """Service that serves booking pages: the backend of every custom-domain Ingress."""

    web_port: int = 8000

    ingress_class: str = ""
    """IngressClass of custom-domain Ingresses; empty = the cluster default."""

    tls_issuer: str = ""
    """cert-manager ClusterIssuer for custom domains; empty = no TLS."""

    deletion_policy: DeletionPolicy = "Suspend"
    """What deleting a tenant does when its spec does not say."""

    drift_interval: float = 300.0
    """Seconds between drift checks of a tenant against the providers service."""

    retry_base_delay: float = 2.0
    """First retry delay when the providers service is unreachable; doubles per retry."""

    retry_max_delay: float = 60.0

    request_timeout: float = 10.0
    """Seconds for one HTTP call to the providers service or the Kubernetes API."""

    health_port: int = 8080
    """Port of the Kopf liveness endpoint; 0 = none."""

    metrics_port: int = 9090
    """Port of the Prometheus metrics endpoint; 0 = none."""

    kube_server: str = ""
    """Plain-HTTP Kubernetes API without credentials (``kubectl proxy``, test emulators);
    empty = in-cluster service account, then kubeconfig."""

    def retry_delay(self, retry: int) -> float:
        """Exponential backoff for the ``retry``-th retry (0-based)."""
        return float(min(self.retry_max_delay, self.retry_base_delay * 2**retry))

    @property
    def admin_token_value(self) -> str | None:
        return self.admin_token.get_secret_value() if self.admin_token else None
