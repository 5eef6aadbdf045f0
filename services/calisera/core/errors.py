"""RFC 9457 problem details: domain errors and the one place that renders them.

Services raise the exception classes below (or subclasses with their own ``type``);
routes never build error JSON by hand. Every error path of every app answers
``application/problem+json``, validation errors name the offending field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

PROBLEM_BASE = "https://calisera.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = structlog.get_logger("calisera.errors")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


_BY_SLUG: dict[str, type[Problem]] = {}


class Problem(Exception):
    """An error a client can act on. Subclasses set ``status``, ``slug`` and ``title``.

    A subclass that sets its own ``slug`` is registered under it, so a client that
    receives that problem raises the same class (:func:`problem_from_body`): problem
    types are matched by class, never by copied strings.
    """

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "slug" in cls.__dict__:
            _BY_SLUG.setdefault(cls.slug, cls)

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors or [])
        self.headers = headers or {}
        self.extra = extra or {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug


class BadRequest(Problem):
    status, slug, title = 400, "bad-request", "Bad request"


class MalformedBody(Problem):
    status, slug, title = 400, "malformed-body", "The request body is not valid JSON"


class InvalidInput(Problem):
    """422 with the fields named."""

    status, slug, title = 422, "validation", "The request is not valid"

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", errors=[FieldError(field, message)])


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kw: Any):
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="calisera"'})
        super().__init__(detail, **kw)


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(Problem):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(Problem):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class TooManyRequests(Problem):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(Problem):
    status, slug, title = 503, "service-unavailable", "A dependency is unavailable"

    def __init__(self, detail: str | None = None, **kw: Any):
        kw.setdefault("headers", {"Retry-After": "1"})
        super().__init__(detail, **kw)


_STATUS_PROBLEMS: dict[int, type[Problem]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
        TooManyRequests,
        ServiceUnavailable,
    )
}


def problem_class(slug: str, status: int) -> type[Problem]:
    """The class registered for ``slug``, else the generic class of ``status``."""
    return _BY_SLUG.get(slug) or _STATUS_PROBLEMS.get(status) or Problem


def problem_from_body(status: int, body: Any, *, default_detail: str) -> Problem:
    """Rebuild the :class:`Problem` a service answered (``body`` is its decoded JSON)."""
    body = body if isinstance(body, dict) else {}
    type_uri = str(body.get("type") or "")
    slug = type_uri.removeprefix(PROBLEM_BASE) if type_uri.startswith(PROBLEM_BASE) else ""
    cls = problem_class(slug, status)
    errors = [
        FieldError(str(e.get("field", "")), str(e.get("message", "")))
        for e in body.get("errors") or []
        if isinstance(e, dict)
    ]
    known = {"type", "title", "status", "detail", "instance", "errors"}
    extra = {k: v for k, v in body.items() if k not in known}
    detail = str(body.get("detail") or default_detail)
    try:
        problem = cls(detail, errors=errors, extra=extra)
    except TypeError:
        # a class built from other arguments (``NotBookable(reason)``): what the answer
        # carries is all a client can know of it
        problem = cls.__new__(cls)
        Problem.__init__(problem, detail, errors=errors, extra=extra)
    if cls is Problem:
        problem.status = status
    return problem


def problem_body(
    *,
    status: int,
    type_uri: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: Iterable[FieldError] = (),
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_uri, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    errs = [{"field": e.field, "message": e.message} for e in errors]
    if errs:
        body["errors"] = errs
    if extra:
        body.update(extra)
    return body


def problem_response(problem: Problem, request: Request | None = None) -> Response:
    body = problem_body(
        status=problem.status,
        type_uri=problem.type_uri,
        title=problem.title,
        detail=problem.detail,
        instance=request.url.path if request is not None else None,
        errors=problem.errors,
        extra=problem.extra,
    )
    return Response(
        json.dumps(body),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _field_name(loc: Sequence[str | int]) -> str:
    """``("body", "customer", "email")`` -> ``customer.email``; ``("query", "x")`` -> ``x``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where = parts.pop(0)
        if not parts:
            return str(where)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    # pydantic prefixes custom ValueError messages; keep the message itself.
    return msg.removeprefix("Value error, ")


def field_errors(errors: Iterable[dict[str, Any]]) -> list[FieldError]:
    return [FieldError(_field_name(e.get("loc", ())), _message(e)) for e in errors]


def validation_problem(errors: Sequence[dict[str, Any]]) -> Problem:
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(str(e.get("msg")) for e in errors if e.get("type") == "json_invalid")
        return MalformedBody(
            f"Malformed JSON: {detail}", errors=[FieldError("body", "malformed JSON")]
        )
    fes = field_errors(errors)
    detail = "; ".join(f"{fe.field}: {fe.message}" for fe in fes[:5])
    return InvalidInput(detail, errors=fes)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


_GUARDED: dict[str, set[str]] = {}
"""Fixed path -> the methods its 405 guard refuses (see :func:`guard_static_paths`)."""


def _method_not_allowed(served: set[str]) -> Any:
    allow = ", ".join(m for m in _METHODS if m in served)

    async def method_not_allowed(request: Request) -> Response:
        raise MethodNotAllowed(
            f"{request.method} is not served at {request.url.path}", headers={"Allow": allow}
        )

    return method_not_allowed


def guard_static_paths(*routers: APIRouter) -> None:
    """Answer 405 at a fixed path for the methods only a templated sibling serves.

    ``PATCH /api/v1/providers/categories`` would otherwise reach ``PATCH
    /api/v1/providers/{provider_id}`` and be refused as a malformed id (422), though
    ``categories`` serves GET only: a guard route placed before the templated one
    answers 405 with the right ``Allow``. The routers are one service's, the fixed path
    and its templated sibling may be in different ones (they are included in this
    order). Idempotent (routers are module globals)."""
    static: dict[str, set[str]] = {}
    for router in routers:
        for route in router.routes:
            if isinstance(route, Route) and "{" not in route.path:
                static.setdefault(route.path, set()).update(route.methods or ())
    real = {path: set(served) for path, served in static.items()}
    for router in routers:
        guarded: list[BaseRoute] = []
        for route in router.routes:
            if isinstance(route, Route) and "{" in route.path:
                for path, served in static.items():
                    shadowed = (route.methods or set()) - served - {"HEAD"}
                    if shadowed and route.path_regex.fullmatch(path):
                        guarded.append(
                            Route(
                                path,
                                _method_not_allowed(real[path]),
                                methods=sorted(shadowed),
                                include_in_schema=False,
                            )
                        )
                        served |= shadowed
                        # a guard of GET answers HEAD too (Starlette adds it to GET)
                        head = {"HEAD"} if "GET" in shadowed and "HEAD" not in real[path] else set()
                        _GUARDED.setdefault(path, set()).update(shadowed | head)
            guarded.append(route)
        if len(guarded) != len(router.routes):
            router.routes[:] = guarded
            router._mark_routes_changed()


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first
    route's); found by asking the routes whether they fully match each method."""
    routes = request.app.router.routes
    guarded = _GUARDED.get(request.scope["path"], set())
    return [
        method
        for method in _METHODS
        if method not in guarded
        and any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error path of ``app`` through problem+json."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc, request)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError | ValidationError)
        errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
        return problem_response(validation_problem(errors), request)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        cls = _STATUS_PROBLEMS.get(exc.status_code, Problem)
        problem = cls(str(exc.detail) if exc.detail else None, headers=dict(exc.headers or {}))
        if cls is Problem:
            problem.status = exc.status_code
        if exc.status_code == 404 and exc.detail in (None, "", "Not Found"):
            problem.detail = f"No route for {request.method} {request.url.path}"
        if exc.status_code == 405:
            problem.headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem_response(problem, request)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled_error", path=request.url.path, method=request.method)
        problem = Problem("An unexpected error occurred; it has been logged.")
        problem.status, problem.slug, problem.title = 500, "internal", "Internal server error"
        trace_id = structlog.contextvars.get_contextvars().get("trace_id")
        if trace_id:
            problem.extra["trace_id"] = trace_id
        return problem_response(problem, request)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
