"""The OpenAPI 3 document, assembled from the `OPENAPI` path fragments of each routes module.

Each module under web/routes that serves `/api/...` declares `OPENAPI = {path: {method: op}}`
beside its handlers, so a route and its description change together; tests/test_openapi.py
fails when a route and the document disagree.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}


def error_responses(*statuses: int) -> dict[str, Any]:
    """Response entries for the given error statuses, all with the common error body."""
    text = {
        400: "Invalid input; details lists each failing field",
        401: "Not signed in",
        403: "Not allowed for this role or organisation",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        415: "Unsupported content type",
    }
    return {
        str(status): {
            "description": text.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def json_ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A 200 response entry with a JSON body."""
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or {"type": "object"}}},
    }


def build(modules: list[ModuleType], schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole document from the given route modules."""
    paths: dict[str, Any] = {}
    for module in modules:
        for path, operations in getattr(module, "OPENAPI", {}).items():
            paths.setdefault(path, {}).update(operations)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "consulink API",
            "version": "1",
            "description": "JSON API of consulink. Authenticate with a bearer token "
            "(`consulink users token EMAIL`) or a session cookie plus X-CSRF-Token for writes.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, **(schemas or {})},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "consulink_session"},
            },
        },
        "security": [{"bearer": []}, {"cookie": []}],
    }
