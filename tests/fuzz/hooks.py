"""Schemathesis hooks of the contract run: the exclusions, each with its reason.

OpenAPI states each parameter and body field on its own; it cannot state a rule that
relates two of them (``from`` on or before ``to``), a value only the server issued
(a cursor, an OIDC ``state``) or a rule of the domain (a slot that is not free). A
schema-valid request broken only that way is refused by the server, as the document
says (422 or 400, ``errors`` naming the field), and schemathesis' "schema-valid request
rejected" check (ST202) reports it. :data:`EXCLUSIONS` drops exactly those reports:
the operation, the status and, for 422, every field named in ``errors`` with its
message must match one entry; anything else still fails the run. Every entry is listed
in docs/openapi-fuzzing.md (a unit test keeps both in step).

:func:`filter_case` bounds the run, it excuses nothing: the coverage phase sends one
request per value of every ``enum``, and the time-zone enum has ~600 (all accepted by
construction: the server checks the very list it states); it sends a fixed sample.

Loaded by ``tests/fuzz/test_openapi_contract.py`` through ``SCHEMATHESIS_HOOKS``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import schemathesis
from hypothesis.internal import lambda_sources
from schemathesis.generation.meta import CoveragePhaseData

from calisera.core.values import zone_names


def _one_at_a_time(describe: Any) -> Any:
    """CPython 3.11's ``ast.parse`` is not safe in two threads at once ("AST constructor
    recursion depth mismatch", python/cpython#106905, fixed in 3.12): Hypothesis parses
    a lambda's source to name a filter, and ``--workers 2`` draws in two threads. The
    run's own error, not the API's: serialise those parses."""
    lock = threading.Lock()

    def described(f: Any) -> Any:
        with lock:
            return describe(f)

    return described


lambda_sources.lambda_description = _one_at_a_time(lambda_sources.lambda_description)

ZONE_SAMPLE = frozenset(zone_names()[::50]) | {"UTC", "Europe/Berlin", "America/New_York"}
"""The zones the coverage phase sends one request each for (every 50th, and three)."""


@dataclass(frozen=True)
class Exclusion:
    name: str
    """Its name in docs/openapi-fuzzing.md."""
    operations: re.Pattern[str]
    """``METHOD /path`` of the operations it covers."""
    status: int
    fields: dict[str, re.Pattern[str]]
    """For 422: field -> message rule; every error of the answer must match one."""
    types: tuple[str, ...] = ()
    """For other statuses: the problem types (slugs) it covers."""


def _ops(*labels: str) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(label) for label in labels))


ANALYTICS = "GET /api/v1/analytics/providers/{provider_id}/"
RECURRENCE_FIELDS = ("rrule", "starts_on", "until", "exdates")
RECURRENCE_RULE = re.compile(r"^(?!(Input|String|Value|List|Field|Extra|Assertion) ).+")
EXCLUSIONS = (
    Exclusion(
        "period",
        re.compile(re.escape(ANALYTICS) + r"(summary|timeseries|services|heatmap|customers)"),
        422,
        {
            "from": re.compile(r"must be on or before 'to'|outside the calendar"),
            "to": re.compile(r"the range may span at most \d+ days|outside the calendar"),
        },
    ),
    Exclusion(
        "period",
        _ops("GET /api/v1/availability"),
        422,
        {
            "end": re.compile(r"must not be before start|the range is limited to \d+ days"),
            "start": re.compile(r"outside the calendar"),
        },
    ),
    Exclusion(
        "period",
        _ops("GET /internal/v1/integrations/busy"),
        422,
        {"end": re.compile(r"must be after start, within \d+ days")},
    ),
    Exclusion(
        "period",
        _ops("GET /api/v1/providers/{provider_id}/bookings"),
        422,
        {"to": re.compile(r"must be after 'from'")},
    ),
    Exclusion(
        "phone",
        re.compile(r"(POST|PATCH) /api/v1/(providers|bookings|waitlist).*"),
        422,
        {
            field: re.compile(r"not a (valid )?phone number|use the international format")
            for field in ("contact.phone", "location.phone.phone", "customer.phone")
        },
    ),
    Exclusion(
        "references",
        re.compile(r"(POST|PATCH) /api/v1/providers(/\{provider_id\})?"),
        422,
        {
            "booking_page.shown_service_ids": re.compile(r"a new provider has no services yet"),
            "booking_page.shown_service_ids[]": re.compile(r"no service .* of this provider"),
        },
    ),
    Exclusion(
        "owner",
        _ops("POST /api/v1/providers"),
        422,
        {"owner_email": re.compile(r"^required$")},
    ),
    Exclusion(
        "email",
        re.compile(r"(POST|PUT|PATCH) .*"),
        422,
        {
            field: re.compile(r"special-use or reserved name")
            for field in ("email", "owner_email", "contact.email", "customer.email", "to")
        },
    ),
    Exclusion(
        "cursor",
        _ops(
            "GET /api/v1/providers",
            "GET /api/v1/providers/search",
            "GET /api/v1/providers/{provider_id}/services",
            "GET /api/v1/providers/{provider_id}/bookings",
            "GET /api/v1/providers/{provider_id}/waitlist",
            "GET /api/v1/notifications/providers/{provider_id}/deliveries",
            "GET /api/v1/users/me/sessions",
            "GET /api/v1/integrations/providers/{provider_id}/webhooks",
            "GET /api/v1/integrations/providers/{provider_id}/webhooks/{endpoint_id}/deliveries",
        ),
        422,
        {"cursor": re.compile(r"(?i)not a cursor this (list|endpoint) returned")},
    ),
    Exclusion(
        "sign-in",
        _ops(
            "GET /auth/callback/{idp}",
            "GET /auth/magic-link/callback",
            "POST /auth/passkeys/sign-in",
            "POST /api/v1/users/me/passkeys",
        ),
        400,
        {},
        types=(
            "invalid-login-state",
            "identity-provider-refused",
            "invalid-id-token",
            "invalid-magic-link",
            "invalid-passkey-challenge",
            "invalid-passkey",
        ),
    ),
    Exclusion(
        "service-kind",
        _ops(
            "POST /api/v1/providers/{provider_id}/services",
            "PATCH /api/v1/providers/{provider_id}/services/{service_id}",
        ),
        422,
        {
            "capacity": re.compile(r"must be 1 for simple services"),
            "slot_interval_minutes": re.compile(r"only for simple services|multiple of"),
            "starts_at": re.compile(
                r"only for event services|required for event services|must be in the future"
                r"|must be within ten years from now"
            ),
            "recurrence": re.compile(r"only for class services|required for class services"),
            # RFC 5545 RRULE grammar and its dates (recurrence.py); pydantic's own
            # messages (type, length, pattern) are not excused.
            **{
                f"recurrence.{f}": RECURRENCE_RULE
                for f in ("rrule", "starts_on", "until", "exdates")
            },
            "buffer_before_minutes": re.compile(r"only for simple services"),
            "buffer_after_minutes": re.compile(r"only for simple services"),
            "kind": re.compile(r"cannot change; create a new service instead"),
            # a question's options against its kind; the questions against each other
            "questions": re.compile(
                r"^(only for single_choice and multiple_choice questions"
                r"|a choice needs at least two options|options must differ from each other"
                r"|used by another question|another question asks the same)$"
            ),
        },
    ),
    Exclusion(
        "series",
        _ops("POST /api/v1/bookings/series"),
        422,
        {
            "weeks": re.compile(r"^give either weeks or until|^a series books at most \d+"),
            "until": re.compile(
                r"^the series ends before its first occurrence|^a series books at most \d+"
            ),
            "start": re.compile(r"^not an occurrence of the class$"),
            "service_id": re.compile(
                r"^only classes are booked as a series|^this class confirms every booking"
            ),
        },
    ),
    Exclusion(
        "waitlist",
        _ops("POST /api/v1/waitlist"),
        422,
        {"service_id": re.compile(r"^waitlists are for events and classes")},
    ),
    Exclusion(
        "answers",
        _ops("POST /api/v1/bookings", "POST /api/v1/bookings/series"),
        422,
        {
            "answers": re.compile(
                r"^(not a question of this service|required|must be ticked|must be true or false"
                r"|must be a list of the options|not an option: .*|an option is chosen twice"
                r"|must be text|not one of the options|must be one line|at most \d+ characters"
                r"|not a (valid )?phone number.*)$"
            )
        },
    ),
    Exclusion(
        "image",
        _ops("PUT /api/v1/providers/{provider_id}/images/{kind}"),
        422,
        {"image": re.compile(r"not a readable PNG, JPEG or WebP image|at most [\d,]+ pixels")},
    ),
    Exclusion(
        "hours",
        _ops("PUT /api/v1/providers/{provider_id}/availability"),
        422,
        {
            root: re.compile(
                r"^(must be after start|overlaps another interval( of that weekday)?"
                r"|date given twice)$"
            )
            for root in ("weekly", "overrides", "time_off")
        },
    ),
)


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _field_root(field: str) -> str:
    """``weekly[2].end`` -> ``weekly``: hours rules name the row at fault."""
    return re.split(r"[.\[]", field, maxsplit=1)[0]


def excused(operation: str, status: int, problem: dict[str, Any]) -> str | None:
    """The name of the exclusion that covers this refusal, or None."""
    slug = str(problem.get("type", "")).rsplit("/", 1)[-1]
    errors = problem.get("errors") or []
    for rule in EXCLUSIONS:
        if rule.status != status or not rule.operations.fullmatch(operation):
            continue
        if rule.types:
            if slug in rule.types:
                return rule.name
            continue
        if slug != "validation" or not errors:
            continue
        if all(_error_matches(rule, e) for e in errors):
            return rule.name
    return None


def _error_matches(rule: Exclusion, error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    field, message = str(error.get("field", "")), str(error.get("message", ""))
    pattern = rule.fields.get(field) or rule.fields.get(re.sub(r"\[\d+\]$", "[]", field))
    if pattern is None:  # a rule may name the root of a list's fields
        pattern = rule.fields.get(_field_root(field))
    return pattern is not None and pattern.search(message) is not None


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a schema-valid request refused for an excluded reason."""
    if getattr(failure, "code", None) != "ST202":
        return True
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    return excused(operation, response.status_code, _problem(response)) is None


def _zones_sent(case: Any) -> set[str]:
    body = case.body if isinstance(case.body, dict) else {}
    customer = body.get("customer")
    values = [
        (case.query or {}).get("timezone"),
        body.get("timezone"),
        customer.get("timezone") if isinstance(customer, dict) else None,
    ]
    return {v for v in values if isinstance(v, str)}


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Skip a coverage-phase case that sends a (valid) zone outside :data:`ZONE_SAMPLE`."""
    if not isinstance(getattr(getattr(case.meta, "phase", None), "data", None), CoveragePhaseData):
        return True
    zones = _zones_sent(case) & set(zone_names())
    return not zones or bool(zones & ZONE_SAMPLE)
