"""Status conditions of a ProviderTenant, following Kubernetes conventions.

One helper, :func:`set_condition`, replaces the entry of the same type and keeps its
``lastTransitionTime`` unless the status really changes (cert-manager's
``SetCertificateCondition``). ``Ready`` is the summary; ``Synced`` says the provider in the
providers service matches the spec; ``Degraded`` says the last attempt failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

ConditionStatus = Literal["True", "False", "Unknown"]
Condition = dict[str, Any]


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision, as the API server writes it."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    conditions: Iterable[Mapping[str, Any]],
    *,
    type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: datetime,
    observed_generation: int | None = None,
) -> list[Condition]:
    """``conditions`` with the ``type`` entry replaced (or added), in a stable order."""
    result: list[Condition] = []
    previous: Mapping[str, Any] | None = None
    for condition in conditions:
        if condition.get("type") == type:
            previous = condition
        else:
            result.append(dict(condition))
    unchanged = previous is not None and previous.get("status") == status
    transition = (
        previous.get("lastTransitionTime") if unchanged and previous else None
    ) or timestamp(now)
    entry: Condition = {
        "type": type,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
    }
    if observed_generation is not None:
        entry["observedGeneration"] = observed_generation
    result.append(entry)
    return sorted(result, key=lambda c: _ORDER.get(str(c.get("type")), len(_ORDER)))


_ORDER = {"Ready": 0, "Synced": 1, "Degraded": 2}


def find_condition(conditions: Iterable[Mapping[str, Any]], type: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions if c.get("type") == type), None)


def reconciled(
    conditions: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    generation: int | None,
    message: str,
    suspended: bool,
) -> list[Condition]:
    """Everything matches the spec."""
    result = set_condition(
        conditions,
        type="Synced",
        status="True",
        reason="ProviderInSync",
        message=message,
        now=now,
        observed_generation=generation,
    )
    result = set_condition(
        result,
        type="Degraded",
        status="False",
        reason="AsExpected",
        message="The last reconciliation succeeded.",
        now=now,
        observed_generation=generation,
    )
    return set_condition(
        result,
        type="Ready",
        status="True",
        reason="Suspended" if suspended else "Reconciled",
        message=(
            "The provider is suspended: its booking page takes no bookings."
            if suspended
            else "The booking page is served."
        ),
        now=now,
        observed_generation=generation,
    )


def failed(
    conditions: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    generation: int | None,
    reason: str,
    message: str,
    retrying: bool,
) -> list[Condition]:
    """The last attempt failed; ``retrying`` says whether the operator will try again."""
    result = set_condition(
        conditions,
        type="Degraded",
        status="True",
        reason=reason,
        message=message,
        now=now,
        observed_generation=generation,
    )
    result = set_condition(
        result,
        type="Synced",
        status="Unknown" if retrying else "False",
        reason=reason,
        message=message,
        now=now,
        observed_generation=generation,
    )
    return set_condition(
        result,
        type="Ready",
        status="False",
        reason=reason,
        message=message + (" Retrying with backoff." if retrying else " Fix the spec."),
        now=now,
        observed_generation=generation,
    )
