"""Serves the OpenAPI document built from every routes module."""

from __future__ import annotations

from aiohttp import web

from web.keys import OPENAPI_DOCUMENT
from web.openapi import json_ok

routes = web.RouteTableDef()

OPENAPI = {
    "/api/openapi.json": {
        "get": {
            "summary": "This OpenAPI 3 document",
            "security": [],
            "responses": {"200": json_ok("The document")},
        }
    }
}


@routes.get("/api/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    """The API description, public like the routes' existence."""
    return web.json_response(request.app[OPENAPI_DOCUMENT])
