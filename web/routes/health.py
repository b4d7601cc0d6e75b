"""Liveness: does the database answer?"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from web.keys import ENGINE

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers a query, 503 otherwise."""
    try:
        async with request.app[ENGINE].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as error:
        return web.json_response(
            {"status": "unavailable", "database": f"error: {type(error).__name__}"}, status=503
        )
    return web.json_response({"status": "ok", "database": "ok"})
