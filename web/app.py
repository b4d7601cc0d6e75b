"""The one app factory: `create_app(settings)` builds the whole HTTP application."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from interviews.db import make_engine, make_sessionmaker, upgrade, utcnow
from interviews.document_store import DocumentStore, load_or_create_key
from interviews.seal import load_or_create_signing_key
from web import openapi
from web.auth import auth_middleware
from web.errors import error_middleware
from web.i18n import Catalogs
from web.keys import (
    ACTOR,
    CATALOGS,
    CLOCK,
    DOCUMENT_STORE,
    ENGINE,
    OPENAPI_DOCUMENT,
    SECRET_KEY,
    SESSIONMAKER,
    SETTINGS,
    SIGNING_KEY,
)
from web.routes import (
    audit,
    auth,
    calendar,
    cases_api,
    cases_forms,
    cases_pages,
    directory_api,
    directory_pages,
    documents_api,
    exports_api,
    health,
    join,
    legal_holds,
    playback,
    questionnaires_api,
    questionnaires_pages,
    retention,
    scheduling_api,
    scheduling_forms,
    scheduling_jobs,
    scheduling_pages,
    session_api,
    session_common,
    session_pages,
    signaling_ws,
    stats_api,
    stats_pages,
    summary_api,
    summary_pages,
)
from web.routes import openapi as openapi_routes
from web.settings import Settings
from web.stats_cache import stats_context
from web.templating import setup_templates

STATIC = Path(__file__).parent / "static"


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = make_engine(settings.resolved_database_url)
    if settings.migrate_on_start:
        await upgrade(engine)
    app[ENGINE] = engine
    app[SESSIONMAKER] = make_sessionmaker(engine)
    yield
    await engine.dispose()


def load_secret_key(settings: Settings) -> bytes:
    """The configured key, or one generated once and kept (mode 600) in the data folder."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    )
    if request.path.startswith("/api/") or request.get(ACTOR) is not None:
        response.headers.setdefault("Cache-Control", "no-store")


def create_app(settings: Settings) -> web.Application:
    """Build the application: state in AppKeys, resources in cleanup_ctx, all routes."""
    # Private to the service account: it holds personal data, keys and recordings.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[error_middleware, auth_middleware, session_common.drop_stale_pass],
    )
    app[SETTINGS] = settings
    app[CLOCK] = utcnow
    app[SECRET_KEY] = load_secret_key(settings)
    app[DOCUMENT_STORE] = DocumentStore(
        settings.data_dir / "documents",
        load_or_create_key(settings.document_key, settings.data_dir),
    )
    app[CATALOGS] = Catalogs.load()
    app[SIGNING_KEY] = load_or_create_signing_key(settings.resolved_signing_key_file)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(scheduling_jobs.scheduling_context)
    app.cleanup_ctx.append(signaling_ws.signaling_context)
    app.cleanup_ctx.append(stats_context)
    app.on_shutdown.append(signaling_ws.close_rooms)
    app.on_response_prepare.append(_security_headers)
    setup_templates(app)
    # Every routes module: registered here and described in the OpenAPI document.
    modules = [
        health,
        auth,
        openapi_routes,
        directory_api,
        directory_pages,
        cases_api,
        cases_pages,
        cases_forms,
        documents_api,
        scheduling_api,
        scheduling_jobs,
        scheduling_pages,
        scheduling_forms,
        calendar,
        join,
        audit,
        questionnaires_api,
        questionnaires_pages,
        session_api,
        session_pages,
        playback,
        legal_holds,
        retention,
        signaling_ws,
        summary_api,
        summary_pages,
        exports_api,
        stats_api,
        stats_pages,
    ]
    for module in modules:
        app.add_routes(module.routes)
    app[OPENAPI_DOCUMENT] = openapi.build(modules)
    app.router.add_static("/static/", STATIC, name="static", append_version=True)
    return app
