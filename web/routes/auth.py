"""Sign in, sign out, the language switch, and who-am-I."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from interviews.access import Actor
from interviews.accounts import Role, authenticate, end_login_session, start_login_session
from interviews.audit import record
from web.auth import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from web.i18n import LANGUAGES
from web.keys import ACTOR, CATALOGS, CLOCK, CSRF_TOKEN, SETTINGS, USER
from web.openapi import error_responses, json_ok
from web.request_tools import remote, signed_in, transaction
from web.templating import LANG_COOKIE, page_language, render

routes = web.RouteTableDef()

OPENAPI = {
    "/api/me": {
        "get": {
            "summary": "The caller's account, role, organisation and CSRF token",
            "responses": {"200": json_ok("The account"), **error_responses(401)},
        }
    }
}
LOGIN_CSRF_COOKIE = "consulink_login_csrf"


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after sign-in would help phishing.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def _login_page(
    request: web.Request,
    *,
    error: str = "",
    email: str = "",
    status: int = 200,
    next_path: str | None = None,
) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(
        "login.html",
        request,
        {
            "login_csrf": token,
            "error": error,
            "email": email,
            "next": _safe_next(next_path or request.query.get("next")),
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/login", max_age=3600
    )
    return response


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    """The sign-in page (signed-in visitors go straight on)."""
    if request.get(ACTOR) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return _login_page(request)


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    """Check the password, start a server-side session and set the cookie."""
    form = await request.post()
    _ = request.app[CATALOGS].get(page_language(request)).gettext
    email = str(form.get("email", "")).strip()
    next_path = str(form.get("next", "/"))
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not hmac.compare_digest(cookie_token, str(form.get("csrf_token", ""))):
        return _login_page(
            request,
            error=_("The form expired. Please try again."),
            email=email,
            status=403,
            next_path=next_path,
        )
    settings = request.app[SETTINGS]
    now = request.app[CLOCK]()
    async with transaction(request) as session:
        result = await authenticate(
            session,
            email,
            str(form.get("password", "")),
            now=now,
            max_failures=settings.login_max_failures,
            lockout=timedelta(seconds=settings.login_lockout_seconds),
        )
        if result.user is None:
            await record(
                session,
                "auth.login_failed",
                actor=None,
                target_type="user",
                target_id=email[:64],
                remote=remote(request),
                details={"locked": result.locked_until is not None},
            )
    if result.user is None:
        if result.locked_until is not None:
            minutes = max(1, round((result.locked_until - now).total_seconds() / 60))
            message = _(
                "Too many failed attempts. This account is locked for %(minutes)d minutes."
            ) % {"minutes": minutes}
            return _login_page(request, error=message, email=email, status=429, next_path=next_path)
        return _login_page(request, error=_("Wrong e-mail or password."), email=email, status=401)
    async with transaction(request) as session:
        secret, _row = await start_login_session(
            session, result.user, now=now, lifetime=timedelta(hours=settings.session_hours)
        )
        await record(
            session,
            "auth.login",
            actor=Actor.of(result.user),
            target_type="user",
            target_id=result.user.id,
            remote=remote(request),
        )
    response = web.HTTPSeeOther(_safe_next(next_path))
    set_session_cookie(request, response, secret)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    """End the session on the server and in the browser."""
    actor = signed_in(request)
    async with transaction(request) as session:
        await end_login_session(session, request.cookies[SESSION_COOKIE])
        await record(
            session,
            "auth.logout",
            actor=actor,
            target_type="user",
            target_id=actor.user_id,
            remote=remote(request),
        )
    response = web.HTTPSeeOther("/login")
    clear_session_cookie(response)
    raise response


@routes.post("/language")
async def switch_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen page language in a cookie (a year), then go back."""
    form = await request.post()
    language = str(form.get("lang", ""))
    if language not in LANGUAGES:
        raise web.HTTPBadRequest(reason="unknown language")
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", "/"))))
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="Lax", path="/")
    raise response


# Where each role's day starts: staff at their work queue, consuls and interpreters at the
# interviews they are asked to answer or attend, admins at the directory they keep.
START_PAGES = {
    Role.STAFF: "/cases",
    Role.CONSUL: "/scheduling",
    Role.INTERPRETER: "/scheduling",
    Role.ADMIN: "/directory",
}


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    """Signed-in users start at their role's page; others sign in."""
    actor = request.get(ACTOR)
    if actor is None:
        raise web.HTTPSeeOther("/login")
    raise web.HTTPSeeOther(START_PAGES[actor.role])


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    """The caller's own account, role and organisation."""
    actor = signed_in(request)
    user = request[USER]
    body: dict[str, Any] = {
        "id": actor.user_id,
        "email": user.email,
        "name": actor.name,
        "role": actor.role.value,
        "facility_id": actor.facility_id,
        "consulate_id": actor.consulate_id,
        "language": user.language,
        "csrf_token": request.get(CSRF_TOKEN),
    }
    return web.json_response(body)
