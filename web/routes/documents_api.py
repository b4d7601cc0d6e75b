"""Documents of a case: upload (multipart, checked from the content), list, and downloads.

Downloads go only through these handlers, under the case's access rules; every download
is audited, carries `Content-Disposition` and `X-Content-Type-Options: nosniff`, and a
consul's copy has the viewer's name and the time burnt in.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from aiohttp import web

from interviews.access import Action, Actor
from interviews.audit import record
from interviews.case_access import load_case
from interviews.documents import (
    Document,
    DocumentKind,
    add_document,
    case_documents,
    document_dict,
    load_document,
    prepare,
    watermark,
)
from interviews.imaging import JPEG
from web.errors import invalid, not_found
from web.keys import CLOCK, DOCUMENT_STORE, SESSIONMAKER, SETTINGS
from web.openapi import error_responses, json_ok
from web.request_tools import remote, signed_in, transaction
from web.routes.cases_common import (
    domain_errors,
    read_upload,
    wants_watermark,
    watermark_text,
)

routes = web.RouteTableDef()

_ID = r"{id:\d+}"
_ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_KINDS = [kind.value for kind in DocumentKind]
_CONTENT = {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}},
}

OPENAPI: dict[str, Any] = {
    "/api/cases/{id}/documents": {
        "get": {
            "summary": "The case's documents, newest first",
            "parameters": _ID_PARAM,
            "responses": {"200": json_ok("items"), **error_responses(401, 403, 404)},
        },
        "post": {
            "summary": "Upload a document (multipart: file, kind)",
            "description": "PDF, JPEG or PNG, found from the content. The name's extension "
            "must not claim another type (415). Images over CONSULINK_MAX_IMAGE_PIXELS are "
            "refused before decoding (413); images are re-encoded without metadata; PDFs must "
            "parse completely. Over CONSULINK_MAX_DOCUMENT_BYTES: 413.",
            "parameters": _ID_PARAM,
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file", "kind"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "kind": {"type": "string", "enum": _KINDS},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": json_ok("The document"),
                **error_responses(400, 401, 403, 404, 413, 415),
            },
        },
    },
    "/api/documents/{id}": {
        "get": {
            "summary": "A document's details",
            "parameters": _ID_PARAM,
            "responses": {"200": json_ok("The document"), **error_responses(401, 403, 404)},
        }
    },
    "/api/documents/{id}/content": {
        "get": {
            "summary": "The document itself (audited; watermarked for consuls)",
            "parameters": [
                *_ID_PARAM,
                {"name": "download", "in": "query", "schema": {"type": "boolean"}},
            ],
            "responses": {
                "200": {"description": "The file", "content": _CONTENT},
                **error_responses(401, 403, 404),
            },
        }
    },
    "/api/documents/{id}/thumbnail": {
        "get": {
            "summary": "A small JPEG of an image document (audited; watermarked for consuls)",
            "parameters": _ID_PARAM,
            "responses": {
                "200": {"description": "JPEG", "content": {"image/jpeg": _CONTENT["image/jpeg"]}},
                **error_responses(401, 403, 404),
            },
        }
    },
}


def _kind(value: str | None) -> DocumentKind:
    try:
        return DocumentKind(value or "")
    except ValueError:
        raise invalid(
            [{"field": "kind", "message": f"must be one of: {', '.join(_KINDS)}"}]
        ) from None


async def upload_document(request: web.Request, actor: Actor, case_id: int) -> Document:
    """Read, check and store an upload for a case; shared by the API and the upload page."""
    # Check the caller may upload to this case before reading a large body.
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            await load_case(session, actor, case_id, Action.DOCUMENT_UPLOAD)
    upload = await read_upload(request)
    kind = _kind(upload.fields.get("kind"))
    if upload.filename is None:
        raise invalid([{"field": "file", "message": "attach a file"}])
    settings = request.app[SETTINGS]
    with domain_errors():
        prepared = await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: prepare(
                upload.data, upload.filename or "", kind, max_pixels=settings.max_image_pixels
            ),
        )
        async with transaction(request) as session:
            case = await load_case(session, actor, case_id, Action.DOCUMENT_UPLOAD)
            return await add_document(
                session,
                request.app[DOCUMENT_STORE],
                case,
                prepared,
                kind,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )


@routes.post(f"/api/cases/{_ID}/documents")
async def upload(request: web.Request) -> web.Response:
    """Add a document to a case."""
    actor = signed_in(request)
    document = await upload_document(request, actor, int(request.match_info["id"]))
    response = web.json_response(document_dict(document), status=201)
    response.headers["Location"] = f"/api/documents/{document.id}"
    return response


@routes.get(f"/api/cases/{_ID}/documents")
async def list_documents(request: web.Request) -> web.Response:
    """The documents of a case the caller may read."""
    actor = signed_in(request)
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            case = await load_case(
                session, actor, int(request.match_info["id"]), Action.DOCUMENT_READ
            )
            documents = await case_documents(session, case.id)
    return web.json_response({"items": [document_dict(d) for d in documents]})


@routes.get(f"/api/documents/{_ID}")
async def details(request: web.Request) -> web.Response:
    """One document's details."""
    actor = signed_in(request)
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            document, _grant = await load_document(
                session, actor, int(request.match_info["id"]), Action.DOCUMENT_READ
            )
    return web.json_response(document_dict(document))


def content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266 header: an ASCII fallback name plus the exact name UTF-8 encoded."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _serve(request: web.Request, *, thumbnail: bool) -> web.Response:
    actor = signed_in(request)
    now = request.app[CLOCK]()
    with domain_errors():
        async with transaction(request) as session:
            document, _grant = await load_document(
                session, actor, int(request.match_info["id"]), Action.DOCUMENT_READ
            )
            digest = document.thumbnail_sha256 if thumbnail else document.sha256
            if digest is None:
                raise not_found("This document has no thumbnail.")
            marked = wants_watermark(actor)
            await record(
                session,
                "document.thumbnail" if thumbnail else "document.download",
                actor=actor,
                target_type="document",
                target_id=document.id,
                remote=remote(request),
                details={"case_id": document.case_id, "watermarked": marked},
                now=now,
            )
    store = request.app[DOCUMENT_STORE]
    content_type = JPEG if thumbnail else document.content_type
    loop = asyncio.get_running_loop()
    data = await loop.run_in_executor(None, store.get, digest)
    if marked:
        text = watermark_text(request, now)
        data = await loop.run_in_executor(None, watermark, data, content_type, text)
    name = document.filename
    if thumbnail:
        name = name.rsplit(".", 1)[0] + "-thumbnail.jpg"
    disposition = "attachment" if request.query.get("download") in ("1", "true") else "inline"
    return web.Response(
        body=data,
        content_type=content_type,
        headers={
            "Content-Disposition": content_disposition(disposition, name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            # The call page shows a document in a frame beside the video; only our own
            # pages may frame it (others get the site-wide DENY).
            "X-Frame-Options": "SAMEORIGIN",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
            "frame-ancestors 'self'",
        },
    )


@routes.get(f"/api/documents/{_ID}/content")
async def content(request: web.Request) -> web.Response:
    """The stored file (a consul's copy watermarked)."""
    return await _serve(request, thumbnail=False)


@routes.get(f"/api/documents/{_ID}/thumbnail")
async def thumbnail(request: web.Request) -> web.Response:
    """The thumbnail of an image document."""
    return await _serve(request, thumbnail=True)
