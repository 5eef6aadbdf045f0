"""OpenAPI documents that say what clients really get: problem+json errors everywhere.

FastAPI documents a 422 ``HTTPValidationError`` as ``application/json``; Calisera
answers every error as RFC 9457 ``application/problem+json`` (:mod:`calisera.core.errors`).
Routes declare the problems specific to them with :func:`problem_responses`; the app
factory adds, through :func:`document_problems`, what any operation can answer: 400
for a malformed body, 401/403 where credentials are read, 404 where the path names an
id, 413 for an oversized body, 422 for invalid input and 500/503 for failures of the
platform itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from calisera.core.errors import PROBLEM_MEDIA_TYPE, Problem


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `customer.email`.")
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every Calisera error is answered."""

    type: str = Field(description="A stable URI naming the problem type.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = Field(
        default=None, description="For validation problems: one entry per offending field."
    )
    model_config = {"extra": "allow"}


_REF = {"$ref": "#/components/schemas/ProblemDetails"}
_DESCRIPTIONS = {
    400: "Malformed request (e.g. a body that is not JSON)",
    401: "Missing or invalid credentials",
    403: "Authenticated but not allowed",
    404: "Unknown id, or one of another tenant",
    405: "Method not allowed",
    409: "Conflict with the current state",
    412: "Precondition failed",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input; `errors` names each field",
    429: "Too many requests; see Retry-After",
    500: "Unexpected failure (logged, with a trace id)",
    503: "A dependency is unavailable; retry later",
}


def _response(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or _DESCRIPTIONS.get(status, "Problem"),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": _REF}},
    }


def problem_responses(*problems: int | type[Problem]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the problems it may answer, by status or class
    (classes sharing a status are described together)."""
    titles: dict[int, list[str]] = {}
    for p in problems:
        status = p if isinstance(p, int) else p.status
        named = titles.setdefault(status, [])
        if not isinstance(p, int):
            named.append(p.title)
    out: dict[int | str, dict[str, Any]] = {}
    for status, named in titles.items():
        out[status] = {
            "model": ProblemDetails,
            "description": "; ".join(named) or _DESCRIPTIONS.get(status, "Problem"),
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        if status == 429:
            out[status]["headers"] = {"Retry-After": _RETRY_AFTER}
    return out


_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1},
}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _without_null(schema: dict[str, Any]) -> None:
    """A query, header or cookie parameter is text or absent, never JSON ``null``:
    ``str | None = None`` means "optional", so ``anyOf [X, null]`` is stated as ``X``
    (a fuzzer would otherwise send the text ``null``)."""
    kept = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if "anyOf" in schema and len(kept) == 1:
        del schema["anyOf"]
        schema.update({k: v for k, v in kept[0].items() if k not in schema})
        if schema.get("default", ...) is None:
            del schema["default"]


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an app's OpenAPI ``schema`` in place so every error is problem+json."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ProblemDetails"] = ProblemDetails.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components.update(components["ProblemDetails"].pop("$defs", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, path_item in schema.get("paths", {}).items():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                if not str(status).startswith(("4", "5")):
                    continue
                # Whatever the route's own media type, its errors are problem+json.
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _REF}}
            for parameter in operation.get("parameters", []):
                _without_null(parameter.get("schema", {}))
            has_input = bool(operation.get("parameters") or operation.get("requestBody"))
            generic = [500, 503]
            if path.startswith(("/api/", "/internal/")):
                generic += [401, 403]  # every such route reads the caller's credentials
            if "{" in path:
                generic.append(404)
            if has_input:
                generic.append(422)
            if operation.get("requestBody"):
                generic += [400, 413, 415]
            for code in generic:
                responses.setdefault(str(code), _response(code))
    return schema
