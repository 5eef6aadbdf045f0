"""Every service's OpenAPI document declares its errors as problem+json."""

from __future__ import annotations

import pytest

from calisera.assembly import available_services, build_app
from calisera.core.settings import Settings

SETTINGS = Settings.model_validate(
    {"database_url": "postgresql://nobody@127.0.0.1:1/none", "admin_token": "t" * 24}
)


@pytest.mark.parametrize("service", available_services())
def test_every_error_response_is_problem_json(service: str) -> None:
    document = build_app(SETTINGS, [service]).openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    content = response.get("content", {})
                    assert list(content) == ["application/problem+json"], (method, path, status)
                    checked += 1
            if operation.get("requestBody"):
                assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)
    assert checked or not document["paths"]


async def test_405_names_every_method_served_at_the_path() -> None:
    import httpx

    app = build_app(SETTINGS, ["providers"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.request("OPTIONS", "/api/v1/providers/00000000-0000-0000-0000-000000000001")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["allow"] == "GET, PATCH, DELETE"


def test_paths_with_ids_document_404_and_credentials_401() -> None:
    document = build_app(SETTINGS, ["providers"]).openapi()
    operation = document["paths"]["/api/v1/providers/{provider_id}"]["get"]
    assert {"401", "403", "404"} <= set(operation["responses"])
