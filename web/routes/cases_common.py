"""What the case pages and the case API share: error mapping, views by role, upload reading."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

from interviews.access import Actor
from interviews.accounts import Role
from interviews.case_access import CaseNotFound
from interviews.case_records import CaseError, StaleCase, as_dict
from interviews.case_status import TransitionRefused
from interviews.cases import Case
from interviews.documents import DocumentNotFound, DocumentRefused
from interviews.queue import BadCursor
from interviews.sharing import ShareError
from web.errors import ApiError, invalid, not_found
from web.keys import SETTINGS, USER

# Flags a consul never sees: telling a government that its citizen claims asylum or may be
# a trafficking victim can put the person (and family at home) in danger.
HIDDEN_FROM_CONSULS = ("asylum_claim", "trafficking_victim", "medical_needs")
MAX_FORM_FIELD = 16_384
MAX_PARTS = 8
# Multipart framing around the file (boundaries, part headers, small fields).
MULTIPART_OVERHEAD = 64 * 1024


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the case domain's refusals into API errors (400/404/409/413/415)."""
    try:
        yield
    except (CaseNotFound, DocumentNotFound):
        raise not_found("No such case or document.") from None
    except StaleCase as error:
        raise ApiError(
            409, "stale", str(error), {"field": "version", "current_version": error.current_version}
        ) from None
    except CaseError as error:
        raise invalid([{"field": error.field, "message": str(error)}]) from None
    except TransitionRefused as error:
        raise ApiError(409, "conflict", str(error), {"allowed": error.allowed}) from None
    except ShareError as error:
        code = "invalid" if error.status == 400 else "conflict"
        raise ApiError(
            error.status, code, str(error), [{"field": error.field, "message": str(error)}]
        ) from None
    except DocumentRefused as error:
        code = {413: "too_large", 415: "unsupported_media_type"}.get(error.status, "invalid")
        raise ApiError(
            error.status, code, str(error), [{"field": error.field, "message": str(error)}]
        ) from None
    except BadCursor:
        raise invalid([{"field": "after", "message": "not a cursor from this API"}]) from None


def case_view(case: Case, actor: Actor, *, days_left: int | None = None) -> dict[str, Any]:
    """The case as `actor` may see it (consuls without the protective flags)."""
    data = as_dict(case)
    if days_left is not None:
        data["days_left"] = days_left
    if actor.role is Role.CONSUL:
        for key in HIDDEN_FROM_CONSULS:
            data.pop(key, None)
    return data


def watermark_text(request: web.Request, now: datetime) -> str:
    """Who is looking and when: burnt into what a consul downloads."""
    user = request[USER]
    return f"{user.name} · {user.email} · {now:%Y-%m-%d %H:%M} UTC"


def wants_watermark(actor: Actor) -> bool:
    """Consuls get watermarked copies; the facility's own staff and admins get the original."""
    return actor.role is Role.CONSUL


@dataclass
class Upload:
    """A multipart upload read within the document limit."""

    fields: dict[str, str]
    filename: str | None
    data: bytes


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, "too_large", f"The file is larger than {limit:,} bytes.", [{"field": "file"}]
    )


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    buffer = io.BytesIO()
    while chunk := await part.read_chunk(65_536):
        if buffer.tell() + len(chunk) > limit:
            raise _too_large(limit)
        buffer.write(chunk)
    return buffer.getvalue()


async def read_upload(request: web.Request) -> Upload:
    """Stream a multipart body (field `file` plus small text fields) within the document limit.

    The app-wide body limit (max_body_bytes) is for JSON and forms; uploads are read here
    part by part, so a body over CONSULINK_MAX_DOCUMENT_BYTES is refused as soon as it is
    seen to be, without buffering it whole.
    """
    limit = request.app[SETTINGS].max_document_bytes
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "Send multipart/form-data with a file.")
    length = request.content_length
    if length is not None and length > limit + MULTIPART_OVERHEAD:
        raise _too_large(limit)
    if request.content.at_eof():
        # Already parsed by the CSRF check of a plain form post (small bodies only).
        return _from_parsed(await request.post(), limit)
    try:
        return await _stream_parts(request, limit)
    except (HttpProcessingError, ValueError) as error:
        # Malformed framing or headers, e.g. control characters in a part's file name.
        message = f"the upload is not a valid multipart form ({error.__class__.__name__}); "
        message += "the file name must be a plain name without control characters"
        raise invalid([{"field": "file", "message": message}]) from None


async def _stream_parts(request: web.Request, limit: int) -> Upload:
    fields: dict[str, str] = {}
    filename: str | None = None
    data = b""
    reader = await request.multipart()
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise invalid([{"field": "file", "message": "nested multipart is not accepted"}])
        if part.name == "file":
            # Browsers and aiohttp percent-encode quotes, line breaks (and aiohttp more) in
            # the multipart file name; decode, so the name is checked as the user wrote it.
            filename = unquote(part.filename) if part.filename is not None else None
            data = await _read_part(part, limit)
        elif part.name:
            raw = await _read_part(part, MAX_FORM_FIELD)
            fields[part.name] = raw.decode("utf-8", "replace")
    else:
        raise invalid([{"field": "file", "message": "too many parts in the form"}])
    return Upload(fields, filename, data)


def _from_parsed(form: MultiDictProxy[Any], limit: int) -> Upload:
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return Upload(fields, None, b"")
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return Upload(fields, unquote(upload.filename), data)
