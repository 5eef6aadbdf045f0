"""Every process answers health, readiness and metrics, and every error as problem+json."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field

from calisera.core.app import create_app
from calisera.core.platform import ServiceSpec


class Thing(BaseModel):
    name: str = Field(min_length=1)
    seats: int = Field(ge=1)


router = APIRouter()


@router.post("/api/v1/things", status_code=201)
async def create_thing(thing: Thing) -> Thing:
    return thing


@router.get("/api/v1/boom")
async def boom() -> None:
    raise RuntimeError("secret internal detail")


@pytest.fixture
async def thing_client(settings):
    app = create_app([ServiceSpec(name="things", routers=[router])], settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


async def test_healthz_readyz_metrics(client):
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
    metrics = await client.get("/metrics")
    assert "calisera_http_requests_total" in metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")


async def test_unknown_route_is_404_problem(client):
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/not-found")
    assert body["status"] == 404


async def test_wrong_method_is_405_problem(client):
    r = await client.delete("/healthz")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"


async def test_malformed_json_is_400_problem(thing_client):
    r = await thing_client.post(
        "/api/v1/things", content=b'{"name": "x", ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "body"


async def test_wrong_types_name_each_field(thing_client):
    r = await thing_client.post("/api/v1/things", json={"name": "", "seats": "many"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"name", "seats"}


async def test_unexpected_error_is_500_problem_without_internals(thing_client):
    r = await thing_client.get("/api/v1/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "secret internal detail" not in r.text
    assert "Traceback" not in r.text


async def test_oversized_body_is_413(thing_client):
    r = await thing_client.post(
        "/api/v1/things",
        content=b"x" * (1024 * 1024 + 1),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413


async def test_request_id_is_echoed(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
