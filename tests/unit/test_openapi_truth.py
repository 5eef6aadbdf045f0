"""The OpenAPI documents say what the services do (issue 13): one test per class of
finding schemathesis made against ``calisera up`` (tests/fuzz), so each stays fixed
without the minutes-long fuzz run."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Annotated, Any, get_args

import httpx
import pytest
from fastapi.routing import APIRoute
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from calisera.assembly import available_services, build_app
from calisera.core.text import MultiLine, SingleLine
from calisera.core.values import Flag, Instant, IsoDate, Whole, ZoneName, zone_names
from calisera.providers.fields import DATE_PATTERN, GridTime, LocalDateTime
from tests.fuzz import hooks
from tests.unit.test_openapi_problems import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
BODILESS = {"204", "304"}
# 202s that answer nothing (a redeliver answers 202 with the queued delivery, and says so)
BODILESS_ACCEPTED = {("POST", "/auth/magic-link"), ("POST", "/internal/v1/notifications/emails")}


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return {s: build_app(SETTINGS, [s]).openapi() for s in available_services()}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


def test_no_bodiless_answer_declares_a_body(documents: dict[str, dict[str, Any]]) -> None:
    """202 Accepted of the magic link and of transactional e-mail carry no body: the
    document said ``application/json`` (schemathesis: JSON deserialization error)."""
    seen = {(m, p) for d in documents.values() for m, p, _ in _operations(d)}
    assert seen >= BODILESS_ACCEPTED
    for document in documents.values():
        for method, path, operation in _operations(document):
            for status, response in operation["responses"].items():
                if status in BODILESS or (
                    status == "202" and (method.upper(), path) in BODILESS_ACCEPTED
                ):
                    assert not response.get("content"), (method, path, status)


@pytest.mark.parametrize(
    ("service", "method", "path", "statuses"),
    [
        ("bookings", "POST", "/api/v1/bookings", {"404", "409"}),
        ("bookings", "POST", "/api/v1/bookings/{booking_id}/reschedule", {"404", "409"}),
        ("listing", "GET", "/api/v1/availability", {"404", "422"}),
        ("providers", "POST", "/api/v1/providers", {"409"}),
        ("providers", "PATCH", "/api/v1/providers/{provider_id}", {"404", "409"}),
        ("users", "POST", "/auth/token", {"401"}),
        ("users", "POST", "/auth/logout", {"401"}),
        ("users", "GET", "/api/v1/users/me/sessions", {"404"}),
        ("users", "GET", "/auth/callback/{idp}", {"400", "404"}),
        ("users", "GET", "/auth/magic-link/callback", {"400"}),
        (
            "notifications",
            "POST",
            "/api/v1/notifications/providers/{provider_id}/push-subscriptions",
            {"409"},
        ),
        ("notifications", "GET", "/api/v1/notifications/dev/mailbox", {"404"}),
    ],
)
def test_answered_statuses_are_declared(
    documents: dict[str, dict[str, Any]], service: str, method: str, path: str, statuses: set[str]
) -> None:
    operation = documents[service]["paths"][path][method.lower()]
    assert statuses <= set(operation["responses"]), sorted(operation["responses"])


def test_no_parameter_admits_null(documents: dict[str, dict[str, Any]]) -> None:
    """A header or query value is text or absent: ``anyOf [string, null]`` made the
    fuzzer send ``Idempotency-Key: null`` (4 characters, refused as too short)."""
    for document in documents.values():
        for method, path, operation in _operations(document):
            for parameter in operation.get("parameters", []):
                assert "null" not in json.dumps(parameter["schema"]), (method, path, parameter)
    key = documents["bookings"]["paths"]["/api/v1/bookings"]["post"]["parameters"][0]
    assert key["schema"]["minLength"] == 16


def test_no_time_is_declared_as_rfc3339_full_time(documents: dict[str, dict[str, Any]]) -> None:
    """``format: time`` is RFC 3339 full-time (with offset); grid times are ``09:00``."""
    for service, document in documents.items():
        assert not [n for n in _walk(document) if n.get("format") == "time"], service


def test_every_time_zone_is_an_enum_of_the_zones_the_server_knows(
    documents: dict[str, dict[str, Any]],
) -> None:
    """``""`` was schema-valid and refused: a zone is one of the server's zone names."""
    zones = list(zone_names())
    providers = documents["providers"]["components"]["schemas"]
    assert providers["ProviderCreate"]["properties"]["timezone"]["enum"] == zones
    assert providers["ProviderPatch"]["properties"]["timezone"]["enum"] == zones
    customer = documents["bookings"]["components"]["schemas"]["Customer"]["properties"]
    assert {"type": "string", "enum": zones} in customer["timezone"]["anyOf"]
    listing = documents["listing"]["paths"]["/api/v1/availability"]["get"]["parameters"]
    assert next(p for p in listing if p["name"] == "timezone")["schema"]["enum"] == zones


def test_fields_that_cannot_be_null_do_not_say_null(documents: dict[str, dict[str, Any]]) -> None:
    schemas = documents["providers"]["components"]["schemas"]
    for model, field in [("ProviderPatch", "timezone"), ("ServicePatch", "name")]:
        prop = schemas[model]["properties"][field]
        assert "null" not in json.dumps(prop), (model, prop)
    assert "null" in json.dumps(schemas["ProviderPatch"]["properties"]["bio"])


def test_query_dates_and_instants_are_declared_and_strict(
    documents: dict[str, dict[str, Any]],
) -> None:
    summary = documents["analytics"]["paths"]["/api/v1/analytics/providers/{provider_id}/summary"][
        "get"
    ]
    declared = {p["name"]: json.dumps(p["schema"]) for p in summary["parameters"]}
    assert '"format": "date"' in declared["to"]
    for value in (0, "0", "0.5", "2027-01-01T00:00", "20270101"):
        with pytest.raises(ValidationError):
            TypeAdapter(IsoDate).validate_python(value)
    assert TypeAdapter(IsoDate).validate_python("2028-02-29") == dt.date(2028, 2, 29)
    for value in (0, "0", "0.5", "2027-03-29", "2027-03-29T09:00", "2027-03-29T09:00:00"):
        with pytest.raises(ValidationError):
            TypeAdapter(Instant).validate_python(value)
    assert TypeAdapter(Instant).validate_python("2027-03-29T09:00:00+02:00").utcoffset()


def test_json_booleans_and_integers_are_what_json_schema_calls_them() -> None:
    flag: TypeAdapter[bool] = TypeAdapter(Flag)
    for text in ("true", "yes"):
        with pytest.raises(ValidationError):
            flag.validate_python(text)
    for number in (0, 1):
        with pytest.raises(ValidationError):
            flag.validate_python(number)
    whole: TypeAdapter[int] = TypeAdapter(Annotated[int, Whole(ge=1, le=400)])
    for wrong in ("1", True, 1.5, 0, 401):
        with pytest.raises(ValidationError):
            whole.validate_python(wrong)
    assert whole.validate_python(327.0) == 327
    assert whole.json_schema() == {"type": "integer", "minimum": 1, "maximum": 400}
    with pytest.raises(ValidationError):
        TypeAdapter(ZoneName).validate_python("")


def test_grid_times_and_local_date_times_accept_exactly_their_pattern() -> None:
    grid = TypeAdapter(GridTime)
    schema = grid.json_schema()
    assert "format" not in schema
    pattern = re.compile(schema["pattern"])
    for value in ("09:00", "09:05:00", "23:55"):
        assert pattern.fullmatch(value)
        grid.validate_python(value)
    for value in ("9:00", "09:03", "24:00", "09:00Z", "09:00:00+01:00", "09:00:30"):
        assert not pattern.fullmatch(value)
        with pytest.raises(ValidationError):
            grid.validate_python(value)
    local = TypeAdapter(LocalDateTime)
    assert "format" not in local.json_schema()
    local.validate_python("2028-02-29T00:00")
    for value in ("2027-02-29T00:00", "2026-12-24T00:00Z", "2026-12-24T00:00:00+01:00"):
        with pytest.raises(ValidationError):
            local.validate_python(value)


def test_the_date_pattern_matches_exactly_the_real_dates() -> None:
    pattern = re.compile(DATE_PATTERN)
    for year in [*range(0, 420), *range(1580, 2110), 9999]:
        for month in range(0, 14):
            for day in range(0, 33):
                try:
                    dt.date(year, month, day)
                    real = True
                except ValueError:
                    real = False
                text = f"{year:04d}-{month:02d}-{day:02d}"
                assert bool(pattern.fullmatch(text)) is real, text


async def test_a_fixed_path_answers_405_for_what_a_templated_sibling_serves() -> None:
    """``PATCH /api/v1/providers/categories`` reached ``PATCH .../{provider_id}`` (422)."""
    app = build_app(SETTINGS, ["providers"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for method in ("PATCH", "DELETE", "OPTIONS"):
            r = await client.request(method, "/api/v1/providers/categories")
            assert r.status_code == 405, (method, r.text)
            assert r.headers["allow"] == "GET", method
            assert r.headers["content-type"] == "application/problem+json"
        r = await client.request(
            "OPTIONS", "/api/v1/providers/00000000-0000-0000-0000-000000000001"
        )
        assert r.headers["allow"] == "GET, PATCH, DELETE"


def test_every_exclusion_is_written_down_with_its_reason() -> None:
    doc = (ROOT / "docs" / "openapi-fuzzing.md").read_text()
    for rule in hooks.EXCLUSIONS:
        assert f"`{rule.name}`" in doc, rule.name


def test_exclusions_never_excuse_a_schema_mismatch() -> None:
    """Only the rules OpenAPI cannot state are excused; pydantic's own refusal of a
    schema-valid value (the bug class itself) still fails the run."""
    validation = "https://calisera.dev/problems/validation"

    def problem(field: str, message: str) -> dict[str, Any]:
        return {"type": validation, "errors": [{"field": field, "message": message}]}

    cursor_op = "GET /api/v1/providers"
    assert hooks.excused(cursor_op, 422, problem("cursor", "not a cursor this list returned"))
    assert not hooks.excused(cursor_op, 422, problem("cursor", "String should match pattern"))
    assert not hooks.excused(cursor_op, 422, problem("limit", "not a cursor this list returned"))
    hours_op = "PUT /api/v1/providers/{provider_id}/availability"
    assert hooks.excused(hours_op, 422, problem("time_off[0].end", "must be after start"))
    assert not hooks.excused(hours_op, 422, problem("time_off[0].end", "Input should be a date"))
    services_op = "POST /api/v1/providers/{provider_id}/services"
    assert hooks.excused(services_op, 422, problem("recurrence.rrule", "FREQ is required"))
    assert not hooks.excused(services_op, 422, problem("recurrence.rrule", "String should have"))
    assert not hooks.excused("GET /api/v1/bookings/{booking_id}", 422, problem("cursor", "x"))


def _request_models(app: Any) -> set[type[BaseModel]]:
    """Every pydantic model a route reads from a request body, nested ones included."""
    found: set[type[BaseModel]] = set()

    def visit(annotation: Any) -> None:
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if is_model and annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                visit(field.annotation)
        for arg in get_args(annotation):
            visit(arg)

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                for param in route.dependant.body_params:
                    visit(param.field_info.annotation)
            included = getattr(route, "original_router", None)  # FastAPI's included router
            if included is not None:
                walk(included.routes)

    walk(app.routes)
    return found


def _holds(annotation: Any, kind: type) -> bool:
    return annotation is kind or any(_holds(arg, kind) for arg in get_args(annotation))


def test_no_body_reads_a_number_as_a_boolean_or_text_as_an_integer() -> None:
    """Every boolean of a request body is a :data:`Flag`, every integer a :class:`Whole`:
    lax ``0`` -> false or ``"5"`` -> 5 would accept what the schema calls invalid."""
    lax = []
    models = {s: _request_models(build_app(SETTINGS, [s])) for s in available_services()}
    assert models["bookings"], "no request body found: the walk no longer sees the routes"
    for service, found in models.items():
        for model in found:
            for name, field in model.model_fields.items():
                annotation = field.annotation
                if field.metadata:
                    annotation = Annotated[(annotation, *field.metadata)]  # type: ignore[valid-type]
                adapter: TypeAdapter[Any] = TypeAdapter(annotation)
                if _holds(field.annotation, bool):
                    wrongs: tuple[Any, ...] = (0, 1)
                elif _holds(field.annotation, int):  # text in and out of common bounds
                    wrongs = ("0", "1", "5", "15", "60", "1000")
                else:
                    continue
                for wrong in wrongs:
                    try:
                        adapter.validate_python(wrong)
                    except ValidationError:
                        continue
                    lax.append(f"{service}: {model.__name__}.{name} accepts {wrong!r}")
    assert not lax, "\n".join(sorted(set(lax)))


@given(st.text(alphabet=st.sampled_from(" \t\u3000\u00a0\x85ab\x00\n"), max_size=8))
@settings(max_examples=400, deadline=None)
def test_text_schemas_accept_exactly_what_the_server_keeps(value: str) -> None:
    """A text's schema (``pattern``, ``maxLength``) and its validation agree, including
    whitespace the server strips before it counts ``min_length``."""
    rules = [SingleLine(8), SingleLine(8, min_length=1), SingleLine(8, min_length=3)]
    for rule in [*rules, MultiLine(8), MultiLine(8, min_length=2)]:
        adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, rule])
        schema = adapter.json_schema()
        ecma = schema["pattern"].removesuffix("$") + r"\Z"  # no match before a final newline
        by_schema = bool(re.search(ecma, value)) and len(value) <= 8
        try:
            adapter.validate_python(value)
            by_server = True
        except ValidationError:
            by_server = False
        assert by_schema == by_server, (rule, value, schema)
