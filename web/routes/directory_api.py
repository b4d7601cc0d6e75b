"""The consular directory's JSON API: search, read, create, replace, history and CSV.

Everyone signed in may read; admins create and import; an admin or a consul of that very
consulate may replace an entry. A replace may name the version it started from (header
`If-Match: "<version>"` or body field `version`); a stale one is refused with 409.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from interviews import directory, directory_search
from interviews.access import Action, authorize
from interviews.audit import record
from interviews.consulates import Consulate
from interviews.directory import (
    ConsulateIn,
    ConsulateUpdate,
    DirectoryError,
    StaleEntry,
    as_dict,
    field_errors,
)
from interviews.directory_csv import COLUMNS, CsvImportError, export_csv, import_csv
from interviews.directory_search import SearchQuery
from web.errors import ApiError, conflict, invalid, not_found
from web.keys import SESSIONMAKER
from web.openapi import error_responses, json_ok
from web.request_tools import json_body, parse, remote, signed_in, transaction

routes = web.RouteTableDef()

_ID = r"{id:\d+}"
CSV_TYPE = "text/csv"


def _openapi_30(node: Any, defs: dict[str, Any]) -> Any:
    # Pydantic writes JSON Schema 2020-12; the document is OpenAPI 3.0: inline the $defs
    # and turn `anyOf [X, null]` into `X` with `nullable: true`.
    if isinstance(node, list):
        return [_openapi_30(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _openapi_30(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    out = {k: _openapi_30(v, defs) for k, v in node.items() if k != "$defs"}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        out.pop("anyOf")
        out.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        out["nullable"] = True
    return out


def _entry_schema() -> dict[str, Any]:
    raw = ConsulateIn.model_json_schema()
    fields = _openapi_30(raw, raw.get("$defs", {}))
    return {
        "type": "object",
        "description": "A directory entry; write bodies take every field but id, version "
        "and updated_at (PUT also accepts version).",
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            **fields["properties"],
            "version": {"type": "integer"},
            "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
        },
        "required": fields.get("required", []),
    }


_ENTRY = _entry_schema()
_PARAMS = [
    {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Name or city"},
    {"name": "country", "in": "query", "schema": {"type": "string"}, "description": "ISO alpha-2"},
    {
        "name": "jurisdiction",
        "in": "query",
        "schema": {"type": "string"},
        "description": "A country served (ISO alpha-2)",
    },
    {"name": "language", "in": "query", "schema": {"type": "string"}, "description": "ISO 639"},
    {"name": "video", "in": "query", "schema": {"type": "boolean"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
]
_ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_JSON_BODY = {"required": True, "content": {"application/json": {"schema": _ENTRY}}}
_CSV_COLUMNS = ", ".join(COLUMNS)

OPENAPI: dict[str, Any] = {
    "/api/directory": {
        "get": {
            "summary": "Search the directory (filters, paging)",
            "parameters": _PARAMS,
            "responses": {
                "200": json_ok(
                    "One page of entries",
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": _ENTRY},
                            "total": {"type": "integer"},
                            "limit": {"type": "integer"},
                            "offset": {"type": "integer"},
                        },
                    },
                ),
                **error_responses(400, 401),
            },
        },
        "post": {
            "summary": "Add an entry (admins)",
            "requestBody": _JSON_BODY,
            "responses": {
                "201": {
                    "description": "Created; Location names the new entry",
                    "content": {"application/json": {"schema": _ENTRY}},
                },
                **error_responses(400, 401, 403, 409, 413, 415),
            },
        },
    },
    "/api/directory/{id}": {
        "get": {
            "summary": "One entry (ETag is its version)",
            "parameters": _ID_PARAM,
            "responses": {"200": json_ok("The entry", _ENTRY), **error_responses(401, 404)},
        },
        "put": {
            "summary": "Replace an entry (admins, or a consul of that consulate)",
            "description": 'Send If-Match: "<version>" or a body `version` to refuse '
            "overwriting someone else's newer change (409).",
            "parameters": _ID_PARAM,
            "requestBody": _JSON_BODY,
            "responses": {
                "200": json_ok("The entry as saved", _ENTRY),
                **error_responses(400, 401, 403, 404, 409, 413, 415),
            },
        },
    },
    "/api/directory/{id}/history": {
        "get": {
            "summary": "The entry's audited changes, newest first: who, when, before/after",
            "parameters": _ID_PARAM,
            "responses": {"200": json_ok("The changes"), **error_responses(401, 404)},
        }
    },
    "/api/directory/export.csv": {
        "get": {
            "summary": "The whole directory as CSV",
            "description": f"UTF-8 with a header row; columns: {_CSV_COLUMNS}. "
            "Lists are joined with ';'.",
            "responses": {
                "200": {
                    "description": "CSV file",
                    "content": {CSV_TYPE: {"schema": {"type": "string"}}},
                },
                **error_responses(401),
            },
        }
    },
    "/api/directory/import": {
        "post": {
            "summary": "Import CSV (admins): all rows or none",
            "description": "Body: the export's format. Rows update entries of the same name "
            "and create the others. Any bad row: 400 with details [{row, field, message}] "
            "and nothing imported.",
            "requestBody": {
                "required": True,
                "content": {CSV_TYPE: {"schema": {"type": "string"}}},
            },
            "responses": {
                "200": json_ok("Counts of created, updated and unchanged entries"),
                **error_responses(400, 401, 403, 413, 415),
            },
        }
    },
}


def entry_id(request: web.Request) -> int:
    """The {id} of the path."""
    return int(request.match_info["id"])


async def load(session: Any, request: web.Request) -> Consulate:
    """The entry named by the path, or 404."""
    entry = await directory.get_entry(session, entry_id(request))
    if entry is None:
        raise not_found("No directory entry with this id.")
    return entry


def _etag(entry: Consulate) -> str:
    return f'"{entry.version}"'


def _entry_response(entry: Consulate, status: int = 200) -> web.Response:
    response = web.json_response(as_dict(entry), status=status)
    response.headers["ETag"] = _etag(entry)
    return response


def _if_match(request: web.Request) -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        message = 'If-Match must be an entity tag from this API, e.g. "3".'
        raise ApiError(400, "invalid", message, [{"field": "If-Match", "message": message}])
    return int(tag)


def _refused(error: DirectoryError) -> ApiError:
    if isinstance(error, StaleEntry):
        return ApiError(
            409,
            "stale",
            str(error),
            {"field": "version", "current_version": error.current_version},
        )
    return conflict(str(error), [{"field": error.field, "message": str(error)}])


@routes.get("/api/directory")
async def search(request: web.Request) -> web.Response:
    """Entries matching the filters, one page at a time."""
    authorize(signed_in(request), Action.DIRECTORY_READ)
    try:
        query = SearchQuery.from_params(request.query)
    except ValidationError as error:
        raise invalid(field_errors(error)) from None
    async with request.app[SESSIONMAKER]() as session:
        page = await directory_search.search(
            session, query.filters, limit=query.limit, offset=query.offset
        )
    return web.json_response(
        {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}
    )


@routes.get(f"/api/directory/{_ID}")
async def get_one(request: web.Request) -> web.Response:
    """One entry, with its version as ETag."""
    authorize(signed_in(request), Action.DIRECTORY_READ)
    async with request.app[SESSIONMAKER]() as session:
        return _entry_response(await load(session, request))


@routes.post("/api/directory")
async def create(request: web.Request) -> web.Response:
    """Add an entry (admins); 201 with Location."""
    actor = authorize(signed_in(request), Action.DIRECTORY_CREATE)
    data = parse(ConsulateIn, await json_body(request))
    try:
        async with transaction(request) as session:
            entry = await directory.create_entry(session, data, actor=actor, remote=remote(request))
    except DirectoryError as error:
        raise _refused(error) from None
    response = _entry_response(entry, status=201)
    response.headers["Location"] = f"/api/directory/{entry.id}"
    return response


@routes.put(f"/api/directory/{_ID}")
async def replace(request: web.Request) -> web.Response:
    """Replace every field of an entry (admins, or a consul of that consulate)."""
    actor = authorize(signed_in(request), Action.DIRECTORY_EDIT, consulate_id=entry_id(request))
    expected = _if_match(request)
    data = parse(ConsulateUpdate, await json_body(request))
    if expected is not None and data.version is not None and expected != data.version:
        message = "If-Match and the body's version disagree."
        raise ApiError(400, "invalid", message, [{"field": "version", "message": message}])
    try:
        # The error is caught outside the transaction so that it is rolled back.
        async with transaction(request) as session:
            entry = await load(session, request)
            await directory.update_entry(
                session,
                entry,
                data,
                actor=actor,
                remote=remote(request),
                expected_version=expected if expected is not None else data.version,
            )
    except DirectoryError as error:
        raise _refused(error) from None
    return _entry_response(entry)


@routes.get(f"/api/directory/{_ID}/history")
async def entry_history(request: web.Request) -> web.Response:
    """Who changed the entry, when, and each field before and after."""
    authorize(signed_in(request), Action.DIRECTORY_READ)
    async with request.app[SESSIONMAKER]() as session:
        entry = await load(session, request)
        changes = await directory.history(session, entry.id)
    items = [
        {
            "at": change.at.isoformat(),
            "action": change.action,
            "user_id": change.user_id,
            "user_name": change.user_name,
            "role": change.role,
            "version": change.version,
            "changes": {
                name: {"before": before, "after": after}
                for name, (before, after) in change.fields.items()
            },
        }
        for change in changes
    ]
    return web.json_response({"id": entry.id, "items": items})


@routes.get("/api/directory/export.csv")
async def export(request: web.Request) -> web.Response:
    """The whole directory as a CSV download (the export is audited)."""
    actor = authorize(signed_in(request), Action.DIRECTORY_READ)
    async with transaction(request) as session:
        text = await export_csv(session)
        await record(
            session,
            "directory.export",
            actor=actor,
            target_type="directory",
            remote=remote(request),
        )
    return web.Response(
        text=text,
        content_type=CSV_TYPE,
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="consulink-directory.csv"'},
    )


async def csv_body(request: web.Request) -> str:
    """The request's CSV text, or 415/400."""
    if request.content_type not in (CSV_TYPE, "application/csv"):
        raise ApiError(415, "unsupported_media_type", "Send CSV (Content-Type: text/csv).")
    raw = await request.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"The file is not UTF-8 (byte {error.start})."
        raise ApiError(
            400, "invalid_csv", message, [{"row": None, "field": "", "message": message}]
        ) from None


@routes.post("/api/directory/import")
async def import_(request: web.Request) -> web.Response:
    """Create and update entries from CSV: all rows or none."""
    actor = authorize(signed_in(request), Action.DIRECTORY_IMPORT)
    text = await csv_body(request)
    try:
        async with transaction(request) as session:
            report = await import_csv(session, text, actor=actor, remote=remote(request))
    except CsvImportError as error:
        raise ApiError(
            400, "invalid_csv", str(error), [problem.as_dict() for problem in error.errors]
        ) from None
    return web.json_response(report.as_dict())
