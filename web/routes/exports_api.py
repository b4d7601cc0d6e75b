"""Downloads of sealed summary exports, and the public key that checks their seals.

GET /api/interviews/{id}/summary/exports/{format}                      newest version
GET /api/interviews/{id}/summary/versions/{version}/exports/{format}   one version
GET /api/records/public-key                                            anyone (no sign-in)

Formats: pdf, html, vtt, json (docs/records.md). Who may download: whoever may read the
summary (interviews.summary_access); every download lands in the audit log with the
seal's digest, so an export found later can be matched to who took it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from interviews.access import Action
from interviews.audit import record
from interviews.export_files import build_export
from interviews.export_labels import label_languages, make_labels
from interviews.pdf_layout import FontMissing
from interviews.seal import key_id, public_key_b64, public_key_pem
from interviews.summaries import current_summary, summary_version
from interviews.summary_access import load_interview
from web.errors import ApiError, not_found
from web.keys import CATALOGS, CLOCK, SESSIONMAKER, SETTINGS, SIGNING_KEY
from web.openapi import error_responses, json_ok
from web.request_tools import remote, signed_in, transaction
from web.routes.documents_api import content_disposition
from web.routes.summary_api import summary_errors

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

_BASE = r"/api/interviews/{id:\d+}/summary"
_FORMAT = r"{format:pdf|html|vtt|json}"


async def _export(request: web.Request, number: int | None) -> web.Response:
    actor = signed_in(request)
    interview_id = int(request.match_info["id"])
    fmt = request.match_info["format"]
    with summary_errors():
        async with request.app[SESSIONMAKER]() as session:
            await load_interview(session, actor, interview_id, Action.SUMMARY_READ)
            version = (
                await current_summary(session, interview_id)
                if number is None
                else await summary_version(session, interview_id, number)
            )
            if version is None:
                raise not_found("This interview has no such summary version.")
            document = version.document
    catalogs = request.app[CATALOGS]
    labels = make_labels(label_languages(document), lambda ui: catalogs.get(ui).gettext)
    settings = request.app[SETTINGS]
    now = request.app[CLOCK]()
    loop = asyncio.get_running_loop()
    try:
        export = await loop.run_in_executor(
            None,
            lambda: build_export(
                document,
                fmt,
                data_dir=settings.data_dir,
                key=request.app[SIGNING_KEY],
                labels=labels,
                now=now,
                font=settings.export_font,
            ),
        )
    except FontMissing as missing:
        log.error("PDF export refused: %s", missing)
        raise ApiError(503, "font_missing", str(missing)) from None
    async with transaction(request) as session:
        await record(
            session,
            "summary.export",
            actor=actor,
            target_type="interview",
            target_id=interview_id,
            remote=remote(request),
            details={
                "version": version.version,
                "format": fmt,
                "summary_sha256": export.seal["summary_sha256"],
                "seal_sha256": export.seal_sha256,
            },
            now=now,
        )
    return web.Response(
        body=export.data,
        headers={
            "Content-Type": export.format.media_type,
            "Content-Disposition": content_disposition("attachment", export.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@routes.get(f"{_BASE}/exports/{_FORMAT}")
async def export_current(request: web.Request) -> web.Response:
    """The newest summary version as a sealed PDF, HTML, WebVTT or JSON download."""
    return await _export(request, None)


@routes.get(_BASE + r"/versions/{version:\d+}/exports/" + _FORMAT)
async def export_version(request: web.Request) -> web.Response:
    """One summary version as a sealed download."""
    return await _export(request, int(request.match_info["version"]))


@routes.get("/api/records/public-key")
async def public_key(request: web.Request) -> web.Response:
    """The public half of the key that seals exports, for anyone checking one."""
    public = request.app[SIGNING_KEY].public_key()
    body: dict[str, Any] = {
        "algorithm": "Ed25519",
        "key_id": key_id(public),
        "public_key": public_key_b64(public),
        "pem": public_key_pem(public),
    }
    return web.json_response(body)


_DOWNLOAD = {
    "description": "The sealed export as a download (Content-Disposition: attachment)",
    "content": {
        "application/pdf": {},
        "text/html": {},
        "text/vtt": {},
        "application/json": {},
    },
}
_FONT = {"503": {"description": "PDF only: no Unicode font installed (the message says which)"}}
_FORMAT_PARAM = {
    "name": "format",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["pdf", "html", "vtt", "json"]},
}

OPENAPI = {
    "/api/interviews/{id}/summary/exports/{format}": {
        "get": {
            "summary": "Download the newest summary as a sealed PDF, HTML, WebVTT or JSON "
            "file (audited); `consulink records verify` checks it",
            "parameters": [_FORMAT_PARAM],
            "responses": {"200": _DOWNLOAD, **error_responses(401, 403, 404), **_FONT},
        }
    },
    "/api/interviews/{id}/summary/versions/{version}/exports/{format}": {
        "get": {
            "summary": "Download one summary version as a sealed file (audited)",
            "parameters": [_FORMAT_PARAM],
            "responses": {"200": _DOWNLOAD, **error_responses(401, 403, 404), **_FONT},
        }
    },
    "/api/records/public-key": {
        "get": {
            "summary": "The Ed25519 public key that signs export seals (no sign-in needed)",
            "responses": {
                "200": json_ok(
                    "The key: algorithm, key_id, public_key (raw, base64) and pem",
                    {
                        "type": "object",
                        "required": ["algorithm", "key_id", "public_key", "pem"],
                        "properties": {
                            "algorithm": {"type": "string", "enum": ["Ed25519"]},
                            "key_id": {"type": "string"},
                            "public_key": {"type": "string"},
                            "pem": {"type": "string"},
                        },
                    },
                )
            },
        }
    },
}
