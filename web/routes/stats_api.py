"""Statistics exchange over HTTP: export (CSV or JSON, audited), import, and imported figures.

Only admins export and import (interviews.access: STATS_EXPORT, STATS_IMPORT). The
format is docs/statistics.md; bodies up to CONSULINK_STATS_IMPORT_MAX_BYTES.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from interviews.access import Action, authorize
from interviews.stats_exchange import Document, ExchangeError, parse_csv, parse_json
from interviews.stats_export import MEDIA_TYPES, export_statistics, parse_month
from interviews.stats_imports import ImportSummary, import_document, imported_rows
from web.errors import ApiError, invalid
from web.keys import CLOCK, SESSIONMAKER, SETTINGS
from web.openapi import error_responses, json_ok
from web.request_tools import remote, signed_in, transaction
from web.routes.stats_common import stats_query

routes = web.RouteTableDef()

_MONTH = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}
_FILTERS = [
    {"name": "from", "in": "query", "schema": _MONTH, "description": "first month (YYYY-MM)"},
    {"name": "to", "in": "query", "schema": _MONTH, "description": "last month (YYYY-MM)"},
    {"name": "facility", "in": "query", "schema": {"type": "integer"}},
    {"name": "country", "in": "query", "schema": {"type": "string"},
     "description": "country of detention (ISO 3166-1 alpha-2)"},
    {"name": "nationality", "in": "query", "schema": {"type": "string"}},
]  # fmt: skip
_DOCUMENT = {"type": "object", "description": "docs/statistics.schema.json (version 1.0)"}
_SUMMARY = {
    "type": "object",
    "properties": {
        "source": {"type": "string"},
        "period_from": {"type": "string"},
        "period_to": {"type": "string"},
        "replaced": {"type": "integer"},
        "added": {"type": "integer"},
    },
}
OPENAPI = {
    "/api/statistics/export": {
        "get": {
            "summary": "Export suppressed statistics in the exchange format (admins; audited)",
            "parameters": [
                *_FILTERS,
                {
                    "name": "format",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "enum": ["csv", "json"]},
                },
            ],
            "responses": {
                "200": {
                    "description": "The export (docs/statistics.md)",
                    "content": {
                        "application/json": {"schema": _DOCUMENT},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **error_responses(400, 401, 403),
            },
        }
    },
    "/api/statistics/import": {
        "post": {
            "summary": "Import another installation's export; replaces that source's months "
            "(admins; audited)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _DOCUMENT},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                "200": json_ok("What the import replaced and added", _SUMMARY),
                **error_responses(400, 401, 403, 413, 415),
            },
        }
    },
    "/api/statistics/imported": {
        "get": {
            "summary": "Figures imported from one source, as an exchange document (admins)",
            "parameters": [
                {"name": "source", "in": "query", "required": True, "schema": {"type": "string"}},
                {**_FILTERS[0], "required": True},
                {**_FILTERS[1], "required": True},
            ],
            "responses": {
                "200": json_ok("The imported figures", _DOCUMENT),
                **error_responses(400, 401, 403),
            },
        }
    },
}


@routes.get("/api/statistics/export")
async def export(request: web.Request) -> web.Response:
    """The filtered statistics as a CSV or JSON file, recorded in the audit log."""
    actor = authorize(signed_in(request), Action.STATS_EXPORT)
    fmt = request.query.get("format", "")
    if fmt not in MEDIA_TYPES:
        raise invalid([{"field": "format", "message": "must be csv or json"}])
    async with transaction(request) as session:
        query = await stats_query(request, session, actor)
        done = await export_statistics(
            session,
            request.app[SESSIONMAKER],
            query,
            fmt="csv" if fmt == "csv" else "json",
            source=request.app[SETTINGS].resolved_stats_source,
            actor=actor,
            now=request.app[CLOCK](),
            remote=remote(request),
        )
    return web.Response(
        text=done.text,
        headers={
            "Content-Type": MEDIA_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{done.filename}"',
        },
    )


async def _read_limited(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", f"The file is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"The file is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def read_document(text: str, content_type: str) -> Document:
    """Parse an export as JSON or CSV by its media type; 400 naming the field, 415 otherwise."""
    try:
        if content_type == "application/json":
            return parse_json(text)
        if content_type == "text/csv":
            return parse_csv(text)
    except ExchangeError as error:
        raise invalid([{"field": error.field, "message": error.message}]) from None
    raise ApiError(
        415, "unsupported_media_type", "Send the export as application/json or text/csv."
    )


def summary_dict(summary: ImportSummary) -> dict[str, Any]:
    """An import's summary as JSON."""
    return {
        "source": summary.source,
        "period_from": summary.period_from,
        "period_to": summary.period_to,
        "replaced": summary.replaced,
        "added": summary.added,
    }


async def import_text(request: web.Request, text: str, content_type: str) -> ImportSummary:
    """Import a document's text for the signed-in admin; 400 on anything wrong, nothing kept."""
    actor = authorize(signed_in(request), Action.STATS_IMPORT)
    doc = read_document(text, content_type)
    try:
        async with transaction(request) as session:
            return await import_document(
                session,
                doc,
                own_source=request.app[SETTINGS].resolved_stats_source,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    except ExchangeError as error:
        raise invalid([{"field": error.field, "message": error.message}]) from None


@routes.post("/api/statistics/import")
async def import_(request: web.Request) -> web.Response:
    """Import an export of another installation (JSON or CSV body)."""
    authorize(signed_in(request), Action.STATS_IMPORT)
    if request.content_type not in ("application/json", "text/csv"):
        read_document("", request.content_type)
    raw = await _read_limited(request, request.app[SETTINGS].stats_import_max_bytes)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid([{"field": "body", "message": "must be UTF-8 text"}]) from None
    summary = await import_text(request, text, request.content_type)
    return web.json_response(summary_dict(summary))


@routes.get("/api/statistics/imported")
async def imported(request: web.Request) -> web.Response:
    """The figures imported from one source for a range of months."""
    authorize(signed_in(request), Action.STATS_IMPORT)
    source = request.query.get("source", "")
    errors = [] if source else [{"field": "source", "message": "required"}]
    months: list[str] = []
    for name in ("from", "to"):
        try:
            months.append(f"{parse_month(request.query.get(name, ''), name):%Y-%m}")
        except ValueError as error:
            errors.append({"field": name, "message": str(error).split(": ", 1)[1]})
    if errors:
        raise invalid(errors)
    async with transaction(request) as session:
        rows = await imported_rows(session, source, months[0], months[1])
    doc = Document(
        schema_version="1.0", source=source, period_from=months[0], period_to=months[1], rows=rows
    )
    return web.json_response(doc.model_dump(mode="json"))
