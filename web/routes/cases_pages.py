"""Case pages for staff and consuls."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
