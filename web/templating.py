"""Jinja2 set-up: autoescaped templates with the caller, language and CSRF token in context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from interviews import codes
from interviews.accounts import Role
from web.i18n import pick_language
from web.keys import ACTOR, CATALOGS, CSRF_TOKEN, LANGUAGE, SETTINGS, USER

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "consulink_lang"

# Navigation per role: (path, label). Labels are translated in the template.
NAVIGATION: dict[Role | None, list[tuple[str, str]]] = {
    None: [("/directory", "Consular directory")],
    Role.ADMIN: [
        ("/cases", "Cases"),
        ("/scheduling", "Interviews"),
        ("/scheduling/availability", "Availability"),
        ("/directory", "Consular directory"),
        ("/audit", "Audit log"),
        ("/retention", "Retention"),
        ("/statistics", "Statistics"),
    ],
    Role.STAFF: [
        ("/cases", "Cases"),
        ("/scheduling", "Interviews"),
        ("/calendar", "Calendar"),
        ("/scheduling/availability", "Video rooms"),
        ("/directory", "Consular directory"),
        ("/statistics", "Statistics"),
    ],
    Role.CONSUL: [
        ("/cases", "Shared cases"),
        ("/scheduling", "Interviews"),
        ("/calendar", "Calendar"),
        ("/scheduling/availability", "Interview hours"),
        ("/directory", "Consular directory"),
        ("/questionnaire", "Questionnaire"),
        ("/statistics", "Statistics"),
    ],
    Role.INTERPRETER: [
        ("/scheduling", "Interviews"),
        ("/calendar", "Calendar"),
        ("/scheduling/availability", "My availability"),
        ("/directory", "Consular directory"),
    ],
}


def page_language(request: web.Request) -> str:
    """The language this request's page is shown in."""
    cached: str | None = request.get(LANGUAGE)
    if cached:
        return cached
    user = request.get(USER)
    language = pick_language(
        request.cookies.get(LANG_COOKIE),
        user.language if user is not None else None,
        request.headers.get("Accept-Language", ""),
        request.app[SETTINGS].default_language,
    )
    request[LANGUAGE] = language
    return language


def _context(request: web.Request) -> dict[str, Any]:
    language = page_language(request)
    translations = request.app[CATALOGS].get(language)
    actor = request.get(ACTOR)
    return {
        "_": translations.gettext,
        "ngettext": translations.ngettext,
        "lang": language,
        "actor": actor,
        "user": request.get(USER),
        "csrf_token": request.get(CSRF_TOKEN) or "",
        "nav": NAVIGATION[actor.role if actor else None],
        "path": request.path,
        "static": lambda name: str(request.app.router["static"].url_for(filename=name)),
        "country_name": lambda code: codes.country_name(code, language),
        "language_name": lambda code: codes.language_name(code, language),
    }


def render(
    template: str, request: web.Request, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """Render a page with the common context (caller, language, CSRF token, navigation)."""
    return aiohttp_jinja2.render_template(
        template, request, {**_context(request), **context}, status=status
    )


def setup_templates(app: web.Application) -> None:
    """Install the Jinja2 environment on the app."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
