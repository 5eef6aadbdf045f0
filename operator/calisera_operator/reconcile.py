"""Bringing the provider in the providers service in line with a ProviderTenant spec.

Plain functions over the spec and a :class:`ProvidersApi`; no Kopf, no Kubernetes. Each is
idempotent: running it again on a provider that already matches changes nothing, which is
what makes resumes, replayed watch events and the drift timer safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from calisera_operator.config import DeletionPolicy
from calisera_operator.providers_api import ProvidersApi, ProvidersRejected

FinalizeResult = str  # "suspended" | "deleted" | "absent"


@dataclass(frozen=True)
class SyncOutcome:
    """The provider after a sync, whether it was created and which fields changed."""

    provider: dict[str, Any]
    created: bool = False
    changed: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.created:
            return f"Created provider {self.provider.get('id')} ({self.provider.get('slug')})."
        if self.changed:
            return f"Updated provider fields: {', '.join(self.changed)}."
        return "The provider already matches the spec."


def desired_provider(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The providers-API fields a ProviderTenant spec asks for."""
    branding = spec.get("branding") or {}
    fields: dict[str, Any] = {
        "slug": spec["slug"],
        "name": spec["displayName"],
        "timezone": spec["timezone"],
        "owner_email": spec["ownerEmail"],
        "suspended": bool(spec.get("suspended", False)),
    }
    if branding.get("logoUrl"):
        fields["logo_url"] = branding["logoUrl"]
    page = {
        key: branding[source]
        for key, source in (("accent_color", "accentColor"), ("welcome_text", "welcomeText"))
        if branding.get(source) is not None
    }
    if page:
        fields["booking_page"] = page
    return fields


def provider_changes(desired: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH body that turns ``current`` into ``desired``.

    Only fields the current record shows are compared (a field the service does not return
    cannot be checked, and sending it on every pass would never settle). The slug is
    immutable in the CRD and never patched. Colours compare case-insensitively because
    the service stores them in lower case.
    """
    changes: dict[str, Any] = {}
    for key, wanted in desired.items():
        if key == "slug" or key not in current:
            continue
        have = current[key]
        if key == "booking_page":
            have_page = have or {}
            differs = {
                name: value
                for name, value in wanted.items()
                if _normalised(name, have_page.get(name)) != _normalised(name, value)
            }
            if differs:
                changes[key] = differs
        elif _normalised(key, have) != _normalised(key, wanted):
            changes[key] = wanted
    return changes


def _normalised(key: str, value: Any) -> Any:
    if key in {"accent_color", "owner_email"} and isinstance(value, str):
        return value.lower()
    if key == "logo_url" and isinstance(value, str):
        return value.rstrip("/")
    return value


async def find_provider(
    api: ProvidersApi, slug: str, known_id: str | None
) -> dict[str, Any] | None:
    """The full record of the tenant's provider: by the id in status first, then by slug."""
    if known_id:
        record = await api.get(known_id)
        if record is not None and record.get("slug") == slug:
            return record
    public = await api.get_by_slug(slug)
    if public is None:
        return None
    return await api.get(str(public["id"])) or public


async def sync_provider(
    api: ProvidersApi, spec: Mapping[str, Any], known_id: str | None = None
) -> SyncOutcome:
    """Create the provider, or patch what differs from the spec."""
    desired = desired_provider(spec)
    current = await find_provider(api, desired["slug"], known_id)
    if current is None:
        try:
            return SyncOutcome(provider=await api.create(desired), created=True)
        except ProvidersRejected as exc:
            if exc.status != 409:
                raise
            # Created concurrently (a replayed event, another replica): take it over.
            current = await find_provider(api, desired["slug"], None)
            if current is None:
                raise
    changes = provider_changes(desired, current)
    if not changes:
        return SyncOutcome(provider=current)
    updated = await api.update(str(current["id"]), changes)
    return SyncOutcome(provider=updated, changed=sorted(changes))


async def finalize_provider(
    api: ProvidersApi,
    spec: Mapping[str, Any],
    known_id: str | None,
    policy: DeletionPolicy,
) -> FinalizeResult:
    """Suspend (keep the data) or delete the provider of a tenant that is going away."""
    current = await find_provider(api, spec["slug"], known_id)
    if current is None:
        return "absent"
    provider_id = str(current["id"])
    if policy == "Delete":
        await api.delete(provider_id)
        return "deleted"
    if not current.get("suspended"):
        await api.set_suspended(provider_id, True)
    return "suspended"
