"""Who is calling: session cookies for browsers, bearer tokens for scripts, and CSRF checks.

A state-changing request that rides on the session cookie must carry the session's CSRF
token (header `X-CSRF-Token` or form field `csrf_token`); bearer requests carry no ambient
credentials and need none.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Handler

from interviews.access import Actor
from interviews.accounts import resolve_api_token, resolve_login_session
from web.errors import ApiError
from web.keys import ACTOR, CLOCK, CSRF_TOKEN, SESSIONMAKER, SETTINGS, USER

SESSION_COOKIE = "consulink_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, str(given))


async def _submitted_csrf(request: web.Request) -> str | None:
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()  # cached by aiohttp, so handlers can read it again
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the caller into request['actor'] and enforce CSRF on cookie-borne writes."""
    now = request.app[CLOCK]()
    authorization = request.headers.get("Authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    if authorization.startswith("Bearer "):
        async with request.app[SESSIONMAKER]() as session:
            user = await resolve_api_token(session, authorization.removeprefix("Bearer ").strip())
        if user is None:
            raise ApiError(401, "unauthorized", "The bearer token is not valid.")
        request[ACTOR] = Actor.of(user)
        request[USER] = user
    elif cookie:
        async with request.app[SESSIONMAKER]() as session:
            found = await resolve_login_session(session, cookie, now=now)
        if found is not None:
            user, login = found
            request[ACTOR] = Actor.of(user)
            request[USER] = user
            request[CSRF_TOKEN] = login.csrf_token
            if request.method not in SAFE_METHODS and not _csrf_ok(
                login.csrf_token, await _submitted_csrf(request)
            ):
                raise ApiError(
                    403, "csrf", "This form has expired or did not come from consulink. Reload it."
                )
    return await handler(request)


def set_session_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    """Send the sign-in cookie: HTTP-only, SameSite=Lax, Secure when configured."""
    settings = request.app[SETTINGS]
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(timedelta(hours=settings.session_hours).total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    """Forget the sign-in cookie in the browser."""
    response.del_cookie(SESSION_COOKIE, path="/")
