"""The consular directory's pages: search, detail, history, add/edit forms and CSV import.

Forms post back to their own address; on bad input the form is shown again with each
field's error beside it and everything the user typed kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import ValidationError

from interviews import codes, directory, directory_search
from interviews.access import Action, Actor, Forbidden, authorize
from interviews.consulates import Consulate, ConsulateKind, Evidence
from interviews.directory import (
    ConsulateIn,
    ConsulateUpdate,
    DirectoryError,
    StaleEntry,
    as_input,
)
from interviews.directory_csv import COLUMNS, CsvImportError, ImportReport, import_csv
from interviews.directory_search import SearchQuery
from web.errors import not_found
from web.keys import CATALOGS, SESSIONMAKER, USER
from web.request_tools import remote, signed_in, transaction
from web.routes.directory_form import (
    EVIDENCE_LABELS,
    FIELD_LABELS,
    KIND_LABELS,
    Gettext,
    csv_problem_message,
    form_values,
    localized_errors,
    values_to_input,
)
from web.templating import page_language, render

routes = web.RouteTableDef()

PAGE_SIZE = 25
_ID = r"{id:\d+}"


def may(actor: Actor | None, action: Action, consulate_id: int | None = None) -> bool:
    """Whether the caller may do `action` (for showing links; handlers still authorize)."""
    try:
        authorize(actor, action, consulate_id=consulate_id)
    except (Forbidden, PermissionError):
        return False
    return True


def gettext(request: web.Request) -> Gettext:
    """The page language's gettext."""
    return request.app[CATALOGS].get(page_language(request)).gettext


def _local_time(request: web.Request, moment: datetime) -> str:
    user = request.get(USER)
    zone = user.time_zone if user is not None else "UTC"
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        local = moment
    return local.strftime("%Y-%m-%d %H:%M %Z")


def _common(request: web.Request) -> dict[str, Any]:
    language = page_language(request)
    return {
        "kind_labels": KIND_LABELS,
        "evidence_labels": EVIDENCE_LABELS,
        "field_labels": FIELD_LABELS,
        "local_time": lambda moment: _local_time(request, moment),
        "countries": codes.country_choices(language),
    }


async def _load(session: Any, request: web.Request) -> Consulate:
    entry = await directory.get_entry(session, int(request.match_info["id"]))
    if entry is None:
        raise not_found("No directory entry with this id.")
    return entry


@routes.get("/directory")
async def search_page(request: web.Request) -> web.Response:
    """Search form, results table and paging."""
    actor = authorize(signed_in(request), Action.DIRECTORY_READ)
    params = {key: request.query.get(key, "") for key in ("q", "country", "jurisdiction")}
    params |= {key: request.query.get(key, "") for key in ("language", "video", "offset")}
    errors: dict[str, str] = {}
    try:
        query = SearchQuery.from_params({**params, "limit": str(PAGE_SIZE)})
    except ValidationError as error:
        errors = localized_errors(error, gettext(request))
        query = SearchQuery(limit=PAGE_SIZE)
    async with request.app[SESSIONMAKER]() as session:
        page = await directory_search.search(
            session, query.filters, limit=query.limit, offset=query.offset
        )
        choices = await directory_search.filter_choices(session)
    kept = {key: value for key, value in params.items() if value and key != "offset"}

    def page_link(offset: int) -> str:
        return "/directory?" + urlencode({**kept, "offset": str(offset)} if offset else kept)

    context = {
        **_common(request),
        "params": params,
        "errors": errors,
        "page": page,
        "choices": choices,
        "previous": page_link(max(0, page.offset - page.limit)) if page.offset > 0 else None,
        "next": page_link(page.offset + page.limit)
        if page.offset + page.limit < page.total
        else None,
        "can_create": may(actor, Action.DIRECTORY_CREATE),
        "can_import": may(actor, Action.DIRECTORY_IMPORT),
        "editable": {e["id"] for e in page.items if may(actor, Action.DIRECTORY_EDIT, e["id"])},
    }
    return render("directory/search.html", request, context, status=400 if errors else 200)


@routes.get(f"/directory/{_ID}")
async def detail_page(request: web.Request) -> web.Response:
    """Everything about one entry, including how it certifies identity."""
    actor = authorize(signed_in(request), Action.DIRECTORY_READ)
    async with request.app[SESSIONMAKER]() as session:
        entry = await _load(session, request)
    notice = {"created": "The entry was added.", "saved": "Your changes were saved."}
    context = {
        **_common(request),
        "entry": entry,
        "notice": next((text for key, text in notice.items() if key in request.query), ""),
        "can_edit": may(actor, Action.DIRECTORY_EDIT, entry.id),
    }
    return render("directory/detail.html", request, context)


@routes.get(f"/directory/{_ID}/history")
async def history_page(request: web.Request) -> web.Response:
    """Who changed the entry, when, and what each field was before and after."""
    authorize(signed_in(request), Action.DIRECTORY_READ)
    async with request.app[SESSIONMAKER]() as session:
        entry = await _load(session, request)
        changes = await directory.history(session, entry.id)
    context = {**_common(request), "entry": entry, "changes": changes}
    return render("directory/history.html", request, context)


def _form(
    request: web.Request,
    *,
    entry: Consulate | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    conflict: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        **_common(request),
        "entry": entry,
        "values": values,
        "errors": errors or {},
        "conflict": conflict,
        "kinds": list(ConsulateKind),
        "evidence_kinds": list(Evidence),
        "time_zones": codes.time_zone_choices(),
        "action": f"/directory/{entry.id}/edit" if entry else "/directory/new",
    }
    return render("directory/form.html", request, context, status=status)


async def _submitted(request: web.Request) -> tuple[dict[str, Any], MultiDictProxy[Any]]:
    form = await request.post()
    return form_values(form), form


@routes.get("/directory/new")
async def new_form(request: web.Request) -> web.Response:
    """An empty form for a new entry (admins)."""
    authorize(signed_in(request), Action.DIRECTORY_CREATE)
    return _form(request, entry=None, values=form_values(None))


@routes.post("/directory/new")
async def create_from_form(request: web.Request) -> web.Response:
    """Add the entry, or show the form again with what is wrong."""
    actor = authorize(signed_in(request), Action.DIRECTORY_CREATE)
    values, _form_data = await _submitted(request)
    try:
        data = ConsulateIn.model_validate(values_to_input(values, with_version=False))
    except ValidationError as error:
        errors = localized_errors(error, gettext(request))
        return _form(request, entry=None, values=values, errors=errors, status=400)
    try:
        async with transaction(request) as session:
            entry = await directory.create_entry(session, data, actor=actor, remote=remote(request))
    except DirectoryError as error:
        errors = {error.field: _name_taken(request)}
        return _form(request, entry=None, values=values, errors=errors, status=409)
    raise web.HTTPSeeOther(f"/directory/{entry.id}?created=1")


def _name_taken(request: web.Request) -> str:
    return gettext(request)("Another entry already has this name.")


@routes.get(f"/directory/{_ID}/edit")
async def edit_form(request: web.Request) -> web.Response:
    """The entry's form (admins, or a consul of that consulate)."""
    entry_id = int(request.match_info["id"])
    authorize(signed_in(request), Action.DIRECTORY_EDIT, consulate_id=entry_id)
    async with request.app[SESSIONMAKER]() as session:
        entry = await _load(session, request)
    values = form_values(None, as_input(entry), version=entry.version)
    return _form(request, entry=entry, values=values)


@routes.post(f"/directory/{_ID}/edit")
async def save_form(request: web.Request) -> web.Response:
    """Save the form; a stale version or bad input shows the form again, nothing saved."""
    entry_id = int(request.match_info["id"])
    actor = authorize(signed_in(request), Action.DIRECTORY_EDIT, consulate_id=entry_id)
    values, _form_data = await _submitted(request)
    async with request.app[SESSIONMAKER]() as session:
        entry = await _load(session, request)
    try:
        data = ConsulateUpdate.model_validate(values_to_input(values, with_version=True))
    except ValidationError as error:
        errors = localized_errors(error, gettext(request))
        return _form(request, entry=entry, values=values, errors=errors, status=400)
    try:
        # Errors are caught outside the transaction so that it is rolled back.
        async with transaction(request) as session:
            current = await _load(session, request)
            await directory.update_entry(
                session,
                current,
                data,
                actor=actor,
                remote=remote(request),
                expected_version=data.version,
            )
    except StaleEntry:
        async with request.app[SESSIONMAKER]() as session:
            latest = await _load(session, request)
            newer = await directory.history(session, latest.id)
        theirs = as_input(latest)
        mine = data.model_dump(mode="json", exclude={"version"})
        differing = {k: v for k, v in theirs.items() if mine.get(k) != v}
        conflict = {
            "by": newer[0] if newer else None,
            "fields": differing,
            "version": latest.version,
        }
        # The next save is made knowingly over the newer version.
        values["version"] = str(latest.version)
        return _form(request, entry=latest, values=values, conflict=conflict, status=409)
    except DirectoryError as error:
        errors = {error.field: _name_taken(request)}
        return _form(request, entry=entry, values=values, errors=errors, status=409)
    raise web.HTTPSeeOther(f"/directory/{entry_id}?saved=1")


@routes.get("/directory/import")
async def import_page(request: web.Request) -> web.Response:
    """CSV export link and import form (admins)."""
    authorize(signed_in(request), Action.DIRECTORY_IMPORT)
    return _import_page(request)


def _file_problem(request: web.Request, message: str) -> web.Response:
    problems = [{"row": "", "field": "file", "message": message}]
    return _import_page(request, problems=problems, status=400)


def _import_page(
    request: web.Request,
    *,
    report: ImportReport | None = None,
    problems: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        **_common(request),
        "columns": COLUMNS,
        "report": report,
        "problems": problems or [],
    }
    return render("directory/import.html", request, context, status=status)


@routes.post("/directory/import")
async def import_upload(request: web.Request) -> web.Response:
    """Import the uploaded CSV file: all rows or none, every problem listed."""
    actor = authorize(signed_in(request), Action.DIRECTORY_IMPORT)
    _ = gettext(request)
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return _file_problem(request, _("Choose a CSV file."))
    raw = upload.file.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _file_problem(request, _("The file is not UTF-8 text."))
    try:
        async with transaction(request) as session:
            report = await import_csv(session, text, actor=actor, remote=remote(request))
    except CsvImportError as error:
        problems = [
            {
                "row": p.row,
                "field": p.field,
                "message": csv_problem_message(p.field, p.kind, p.context, p.value, p.message, _),
            }
            for p in error.errors
        ]
        return _import_page(request, problems=problems, status=400)
    return _import_page(request, report=report)
