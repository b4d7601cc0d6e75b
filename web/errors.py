"""Errors as users and clients should see them.

API paths (`/api/...`) always answer `{"error": {"code", "message", "details"}}`;
pages get a rendered error page, and a sign-in redirect when the visitor is anonymous.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from interviews.access import Forbidden, NotSignedIn
from interviews.audit import record
from web.keys import ACTOR, SESSIONMAKER
from web.templating import render

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a stable code, a message and optional details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def invalid(details: list[dict[str, str]], message: str = "Some fields are not valid.") -> ApiError:
    """400 with the failing fields as [{field, message}]."""
    return ApiError(400, "invalid", message, details)


def not_found(what: str = "Not found.") -> ApiError:
    """404."""
    return ApiError(404, "not_found", what)


def conflict(message: str, details: Any = None) -> ApiError:
    """409."""
    return ApiError(409, "conflict", message, details)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
}


def is_api(request: web.Request) -> bool:
    """True for JSON API requests."""
    return request.path.startswith("/api/")


def error_response(request: web.Request, error: ApiError) -> web.StreamResponse:
    """Render an error for the API or a page."""
    if is_api(request):
        body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
        return web.json_response(body, status=error.status)
    return render("error.html", request, {"error": error}, status=error.status)


async def _audit_denial(request: web.Request, denied: Forbidden) -> None:
    # Failed authorisations are audited in their own transaction: the request's was rolled back.
    async with request.app[SESSIONMAKER]() as session, session.begin():
        await record(
            session,
            "auth.forbidden",
            actor=request.get(ACTOR),
            target_type="route",
            target_id=request.path[:64],
            remote=request.remote or "",
            details={"method": request.method, "action": denied.action.value},
            note=denied.reason,
        )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn domain and HTTP exceptions into consistent responses."""
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(request, error)
    except NotSignedIn:
        if is_api(request):
            return error_response(request, ApiError(401, "unauthorized", "Sign in first."))
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}") from None
    except Forbidden as denied:
        await _audit_denial(request, denied)
        return error_response(request, ApiError(403, "forbidden", denied.reason))
    except web.HTTPRequestEntityTooLarge as error:
        return error_response(request, ApiError(413, "too_large", error.text or "Too large."))
    except web.HTTPException as error:
        if error.status >= 400 and (is_api(request) or error.status in (404, 405)):
            code = _STATUS_CODES.get(error.status, "http_error")
            return error_response(request, ApiError(error.status, code, error.reason))
        raise
