"""The audit log for admins: a search page, the same search as JSON, and a streamed CSV export.

Only admins read the log (`Action.AUDIT_READ`); every export is itself audited, with its
filters, before the first byte is sent.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from interviews.access import Action, Actor, authorize
from interviews.audit import record
from interviews.audit_search import AuditFilters, event_dict, export_csv, known_values, search
from interviews.directory import field_errors
from web.errors import invalid
from web.keys import CLOCK, SESSIONMAKER
from web.openapi import error_responses, json_ok
from web.request_tools import remote, signed_in, transaction
from web.templating import render

routes = web.RouteTableDef()

PAGE_SIZE = 50
_FILTER_PARAMETERS = [
    {"name": "who", "in": "query", "schema": {"type": "string"},
     "description": "a user id, or part of the user's name"},
    {"name": "action", "in": "query", "schema": {"type": "string"},
     "description": "an action (case.view), or a family of them (case.*)"},
    {"name": "target_type", "in": "query", "schema": {"type": "string"}},
    {"name": "target_id", "in": "query", "schema": {"type": "string"}},
    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"},
     "description": "first UTC day, inclusive"},
    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"},
     "description": "last UTC day, inclusive"},
]  # fmt: skip
_EVENT = {
    "type": "object",
    "properties": {
        name: {"type": "string"}
        for name in ("at", "user_name", "role", "organisation", "action", "target_type")
    }
    | {"id": {"type": "integer"}, "details": {"type": "object"}, "hash": {"type": "string"}},
}
OPENAPI = {
    "/api/audit": {
        "get": {
            "summary": "Search the audit log, newest first (admins)",
            "parameters": [
                *_FILTER_PARAMETERS,
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}},
                {
                    "name": "before",
                    "in": "query",
                    "schema": {"type": "integer"},
                    "description": "older page: events with a smaller id than this",
                },
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "integer"},
                    "description": "newer page: events with a larger id than this",
                },
            ],
            "responses": {
                "200": json_ok(
                    "Events and the cursors of the pages either side",
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": _EVENT},
                            "newer_after": {"type": "integer", "nullable": True},
                            "older_before": {"type": "integer", "nullable": True},
                        },
                    },
                ),
                **error_responses(400, 401, 403),
            },
        }
    },
    "/api/audit/export.csv": {
        "get": {
            "summary": "Export the matching audit events as CSV, oldest first (admins; audited)",
            "parameters": _FILTER_PARAMETERS,
            "responses": {
                "200": {
                    "description": "CSV with a header row; every column including the hashes",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **error_responses(400, 401, 403),
            },
        }
    },
}


class AuditQuery(AuditFilters):
    """Filters plus paging, as the search page and API take them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    limit: Annotated[int, Field(ge=1, le=500)] = PAGE_SIZE
    before: Annotated[int, Field(ge=1)] | None = None
    after: Annotated[int, Field(ge=0)] | None = None

    @field_validator("before", "after", mode="before")
    @classmethod
    def _empty_cursor(cls, value: Any) -> Any:
        return None if value == "" else value

    def filters(self) -> AuditFilters:
        """Only the filters (for the export and for links)."""
        return AuditFilters.model_validate(self.model_dump(include=set(AuditFilters.model_fields)))


class _Refused(BaseModel):
    """Query parameters that could not be read, and why."""

    errors: list[dict[str, str]]


def _query(request: web.Request, model: type[AuditFilters]) -> AuditFilters | _Refused:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as error:
        return _Refused(errors=field_errors(error))


def _admin(request: web.Request, action: Action = Action.AUDIT_READ) -> Actor:
    return authorize(signed_in(request), action)


@routes.get("/api/audit")
async def api_search(request: web.Request) -> web.Response:
    """Events matching the filters, newest first, one page."""
    _admin(request)
    query = _query(request, AuditQuery)
    if isinstance(query, _Refused):
        raise invalid(query.errors)
    assert isinstance(query, AuditQuery)
    if query.before is not None and query.after is not None:
        raise invalid([{"field": "after", "message": "give before or after, not both"}])
    async with transaction(request) as session:
        page = await search(
            session, query.filters(), limit=query.limit, before=query.before, after=query.after
        )
        body = {
            "items": [event_dict(event) for event in page.items],
            "newer_after": page.newer_after,
            "older_before": page.older_before,
        }
    return web.json_response(body)


@routes.get("/api/audit/export.csv")
async def api_export(request: web.Request) -> web.StreamResponse:
    """Stream the matching events as CSV; the export is recorded first."""
    actor = _admin(request, Action.AUDIT_EXPORT)
    filters = _query(request, AuditFilters)
    if isinstance(filters, _Refused):
        raise invalid(filters.errors)
    assert isinstance(filters, AuditFilters)
    now = request.app[CLOCK]()
    async with transaction(request) as session:
        await record(
            session,
            "audit.export",
            actor=actor,
            target_type="audit",
            remote=remote(request),
            details={"filters": filters.as_query()},
            now=now,
        )
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": (
                f'attachment; filename="consulink-audit-{now:%Y%m%dT%H%M%SZ}.csv"'
            ),
        }
    )
    await response.prepare(request)
    async with request.app[SESSIONMAKER]() as session, session.begin():
        async for chunk in export_csv(session, filters):
            await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response


@routes.get("/audit")
async def page(request: web.Request) -> web.Response:
    """The search page: filters, a page of events newest first, and an export link."""
    _admin(request)
    query = _query(request, AuditQuery)
    errors: dict[str, str] = {}
    async with transaction(request) as session:
        actions, target_types = await known_values(session)
        if isinstance(query, _Refused):
            errors = {e["field"]: e["message"] for e in query.errors}
            items, newer, older, filters = [], None, None, AuditFilters()
        else:
            assert isinstance(query, AuditQuery)
            filters = query.filters()
            result = await search(
                session, filters, limit=query.limit, before=query.before, after=query.after
            )
            items, newer, older = result.items, result.newer_after, result.older_before
    links = filters.as_query()
    families = sorted({a.split(".", 1)[0] + ".*" for a in actions if "." in a})
    return render(
        "audit/search.html",
        request,
        {
            "params": dict(request.query),
            "errors": errors,
            # Details as JSON text: autoescaped like any other value, non-ASCII kept readable.
            "items": [(e, json.dumps(e.details, ensure_ascii=False)) for e in items],
            "actions": actions,
            "families": families,
            "target_types": target_types,
            "newer_link": "/audit?" + urlencode({**links, "after": newer}) if newer else None,
            "older_link": "/audit?" + urlencode({**links, "before": older}) if older else None,
            "export_link": "/api/audit/export.csv?" + urlencode(links),
        },
        status=400 if errors else 200,
    )
