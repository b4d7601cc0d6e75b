"""The published API description matches the routes the server really has."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _served_api_routes(client: TestClient[Any, Any]) -> set[tuple[str, str]]:
    served = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/api/") and route.method in METHODS:
            served.add((route.method.lower(), re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)))
    return served


async def test_openapi_document_lists_exactly_the_api_routes(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.")
    described = {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }
    served = _served_api_routes(client)
    assert served, "no API routes found"
    assert served - described == set(), "served but undocumented"
    assert described - served == set(), "documented but not served"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            assert operation.get("responses"), f"{method.upper()} {path} has no responses"
