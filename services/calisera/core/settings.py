"""Process settings, read once from the environment at start-up and passed down.

Names follow the running contract in ``shared/API.md``: ``DATABASE_URL`` and
``CALISERA_*``. Nothing else in the code reads ``os.environ``.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

SERVICE_NAMES = (
    "users",
    "providers",
    "bookings",
    "listing",
    "notifications",
    "analytics",
    "integrations",
    "web",
)


class IdentityProvider(BaseModel):
    """One OpenID Connect identity provider (``CALISERA_OIDC_<NAME>_*``)."""

    model_config = {"frozen": True}

    issuer: str
    client_id: str
    client_secret: SecretStr | None = None
    scopes: str = "openid email profile"
    label: str | None = None


_OIDC_VARIABLE = re.compile(
    r"^CALISERA_OIDC_(?P<name>[A-Z0-9_]+?)_(?P<key>ISSUER|CLIENT_ID|CLIENT_SECRET|SCOPES|LABEL)$"
)


class _IdentityProvidersSource(PydanticBaseSettingsSource):
    """Collects ``CALISERA_OIDC_<NAME>_<KEY>`` variables into ``oidc_providers``; the name
    (lower-cased, ``_`` as ``-``) is the one in ``/auth/login/<name>``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, dict[str, str]] = {}
        for variable, value in os.environ.items():
            match = _OIDC_VARIABLE.match(variable.upper())
            if match and value:
                name = match["name"].lower().replace("_", "-")
                found.setdefault(name, {})[match["key"].lower()] = value
        return {"oidc_providers": found} if found else {}


class Settings(BaseSettings):
    """Everything a Calisera process may be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="CALISERA_", extra="ignore", frozen=True, populate_by_name=True
    )

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CALISERA_DATABASE_URL")
    )
    """PostgreSQL URL; when unset, ``calisera up`` starts an embedded server in ``data_dir``."""

    broker_url: str | None = None
    """Celery broker (``amqp://...`` in production); unset = embedded default."""

    cache_url: str | None = None
    """Redis URL for the listing cache; unset = an in-process cache."""

    smtp_url: str | None = None
    """``smtp://host:port``; unset = no e-mail, unless ``dev_mailbox`` is on."""

    dev_mailbox: bool = False
    """Store e-mail in ``notifications.dev_mailbox`` (shown to this machine only) instead
    of sending it. ``calisera up`` turns it on when no SMTP URL is set; nothing else
    should: with neither this nor ``smtp_url``, e-mail is off and nothing is stored."""

    sms_url: str | None = None
    """Twilio-compatible SMS API base (``https://user:token@host/2010-04-01/Accounts/SID``);
    unset = SMS are written to the log (development)."""

    queue_prefix: str = ""
    """Prefix of every consumer queue name (lets several platforms share one broker)."""

    relay_visibility_timeout: float = 60.0
    """Seconds after which the relay re-publishes an event a consumer has not confirmed."""

    relay_poll_interval: float = 1.0
    """Polling fallback of the relay when no NOTIFY arrives."""

    delivery_max_attempts: int = 6
    """Failed handling attempts of one event by one consumer before it is dead-lettered;
    also the send attempts of one notification (e-mail, SMS, push) before it is dead."""

    retry_base_seconds: float = 2.0
    """First retry delay of a failed notification send; doubles each time, with jitter."""

    waitlist_claim_minutes: int = Field(30, ge=5, le=10080)
    """How long seats offered to the first in line of a waitlist are held for their
    claim (at most until the service's minimum notice before the start)."""

    admin_token: SecretStr | None = None
    """Platform admin token (operator, automation, service-to-service calls)."""

    analytics_key: SecretStr | None = None
    """Key of the customer hashes in analytics (HMAC-SHA256 of the e-mail); unset = derived
    from the admin token, or a random key kept in the analytics schema."""

    public_url: str = "http://127.0.0.1:8000"
    """Base of every URL shown to people (``booking_url``, manage links, QR codes)."""

    data_dir: Path = Path(".calisera")
    """Local state of ``calisera up``: embedded PostgreSQL, generated keys, dev mailbox."""

    jwt_private_key: SecretStr | None = None
    """PEM private key signing Calisera access tokens (users service)."""

    jwt_public_keys: str | None = None
    """JWKS JSON with the keys access tokens are verified with (the other services)."""

    jwks_url: str | None = None
    """Where to fetch the JWKS when ``jwt_public_keys`` is not given."""

    jwks_min_refetch_seconds: float = 30.0
    """Least time between two refetches of ``jwks_url`` caused by tokens naming an
    unknown key (a rotated-in key is picked up by the first token signed with it)."""

    jwt_previous_keys: str | None = None
    """JWKS JSON of retired signing keys (public halves) the users service keeps serving
    until the tokens they signed have expired (key rotation)."""

    oidc_providers: dict[str, IdentityProvider] = Field(default_factory=dict)
    """OpenID Connect identity providers, from ``CALISERA_OIDC_<NAME>_ISSUER``,
    ``_CLIENT_ID``, ``_CLIENT_SECRET`` and the optional ``_SCOPES`` and ``_LABEL``."""

    rate_limit_url: str | None = None
    """Redis URL where the users service counts sign-in attempts (shared by its replicas);
    unset = ``cache_url``, and without either an in-process counter."""

    sign_in_limit_per_ip: str = "30/minute;300/hour"
    """Sign-in attempts (identity-provider logins and callbacks, magic links, passkeys)
    one client address may make (``limits`` notation, ``;`` between windows)."""

    sign_in_limit_per_email: str = "5/15minutes;20/day"
    """Magic links and passkey sign-ins one e-mail address may ask for."""

    token_limit_per_ip: str = "60/minute;1000/hour"  # noqa: S105 - a rate, not a secret
    """``POST /auth/token`` calls one client address may make (the platform's own BFF,
    which calls with the admin credential for every browser, is not counted)."""

    webhook_retry_base_seconds: float = 5.0
    """First retry delay of a failed webhook delivery; tripled each time (jitter), at most
    four hours apart."""

    webhook_retry_window_seconds: float = 86400.0
    """How long a webhook delivery is retried before it is given up; an endpoint whose
    deliveries all failed for this long is disabled and its provider told by e-mail."""

    webhook_timeout_seconds: float = 10.0
    """Seconds a webhook receiver has to answer one delivery."""

    integrations_allow_private_networks: bool = False
    """Let webhooks and CalDAV calendars reach loopback and private addresses, and CalDAV
    go over plain http (development, tests); off, a URL resolving to such an address is
    refused, so tenants' URLs cannot reach the cluster's insides."""

    caldav_refresh_seconds: float = 300.0
    """Seconds between two reads of a connected CalDAV calendar's busy time."""

    caldav_timeout_seconds: float = 10.0
    """Seconds one CalDAV request may take before the calendar counts as failing."""

    log_level: str = "INFO"
    log_json: bool = True
    """Legacy switch: false means ``log_format=console``."""

    log_format: Literal["json", "console"] | None = None
    """``json`` (one JSON object a line with trace and span ids: production) or
    ``console`` (structlog's coloured lines). Unset: console for ``calisera up`` on an
    interactive terminal, JSON everywhere else."""

    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "CALISERA_OTLP_ENDPOINT"),
    )

    db_pool_size: int = 20
    """Connections a process keeps (the reader pool keeps as many). Overflow connections
    are closed when they come back: with 10 kept, 16 concurrent bookings through ``up``
    opened ~150 connections in 15 s; the maximum per pool stays 30."""
    db_max_overflow: int = 10

    # Where the other services live when each runs in its own process (Kubernetes).
    # Unset: the service is served by this very process (``calisera up``) and is called
    # in-process, without a socket.
    users_url: str | None = None
    providers_url: str | None = None
    bookings_url: str | None = None
    listing_url: str | None = None
    notifications_url: str | None = None
    analytics_url: str | None = None
    integrations_url: str | None = None

    @field_validator("sign_in_limit_per_ip", "sign_in_limit_per_email", "token_limit_per_ip")
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        from limits import parse_many

        parse_many(value)  # ValueError names the notation; pydantic names the field
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _IdentityProvidersSource(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    def with_changes(self, **changes: object) -> Settings:
        """A validated copy with ``changes`` applied (``model_copy`` would skip validation)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    def service_url(self, service: str) -> str | None:
        """The configured base URL of ``service``, or None when it runs in this process."""
        url: str | None = getattr(self, f"{service}_url", None)
        return url.rstrip("/") if url else None

    @cached_property
    def admin_token_value(self) -> str | None:
        return self.admin_token.get_secret_value() if self.admin_token else None

    @property
    def email_enabled(self) -> bool:
        """E-mail is sent (SMTP) or kept (development mailbox); else none is planned."""
        return bool(self.smtp_url) or self.dev_mailbox
