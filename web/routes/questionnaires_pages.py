"""Questionnaire pages: a consulate's definition (view, edit) and a case's questionnaire
(the consul answers it; the facility's staff and admins see the result).

Forms post back to their own address; on bad input the form comes back with each error
beside its field and everything typed kept. The rules are the API's: see
`questionnaires_api` and `interviews.case_access`.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import ValidationError

from interviews.access import Action, Actor, authorize
from interviews.accounts import Role
from interviews.audit import record
from interviews.case_access import load_case_grant
from interviews.cases import Case
from interviews.directory import field_errors
from interviews.questionnaire_answers import (
    AnswerError,
    AnswersIn,
    StaleAnswers,
    filled,
    move_to_current,
    save_answers,
    visible_filled,
)
from interviews.questionnaire_results import AnswerStatus
from interviews.questionnaires import (
    DefinitionError,
    QuestionnaireIn,
    StaleDefinition,
    as_input,
    current_definition,
    definition_version,
    save_definition,
    versions,
)
from web.errors import not_found
from web.keys import CLOCK
from web.request_tools import remote, signed_in, transaction
from web.routes.questionnaires_api import load_consulate, questionnaire_errors
from web.templating import render

routes = web.RouteTableDef()

_ID = r"{id:\d+}"
BLANK_ROWS = 5
MAX_ROWS = 250
_ROW_FIELD = re.compile(r"^p-(\d{1,3})-(key|label|label_en|label_es|help|position|remove)$")
_TEXT_FIELDS = ("key", "label", "label_en", "label_es", "help")


def may(actor: Actor | None, action: Action, consulate_id: int | None = None) -> bool:
    """Whether the caller may do `action` (for showing links; handlers still authorize)."""
    try:
        authorize(actor, action, consulate_id=consulate_id)
    except PermissionError:
        return False
    return True


async def questionnaire_panel(session: Any, actor: Actor, case: Case) -> dict[str, Any]:
    """What `questionnaires/_result.html` needs on a case page (the case already loaded).

    Usage in a case page handler, inside its transaction:
    `context.update(await questionnaire_panel(session, actor, case))`, then
    `{% include "questionnaires/_result.html" %}` in the template.
    """
    views = await visible_filled(session, actor, case.id)
    return {
        "questionnaires": views,
        "questionnaire_case_id": case.id,
        "questionnaire_can_answer": actor.role is Role.CONSUL,
    }


@routes.get("/questionnaire")
async def mine(request: web.Request) -> web.Response:
    """A consul's own consulate's questionnaire; others go to the directory."""
    actor = signed_in(request)
    if actor.role is Role.CONSUL and actor.consulate_id is not None:
        raise web.HTTPSeeOther(f"/consulates/{actor.consulate_id}/questionnaire")
    raise web.HTTPSeeOther("/directory")


@routes.get(f"/consulates/{_ID}/questionnaire")
async def definition_page(request: web.Request) -> web.Response:
    """The consulate's questionnaire (current, or ?version=N) and its versions."""
    actor = authorize(signed_in(request), Action.QUESTIONNAIRE_READ)
    consulate_id = int(request.match_info["id"])
    raw = request.query.get("version", "")
    async with transaction(request) as session:
        consulate = await load_consulate(session, consulate_id)
        definition = (
            await definition_version(session, consulate_id, int(raw))
            if raw.isdigit()
            else await current_definition(session, consulate_id)
        )
        if raw and definition is None:
            raise not_found("This consulate has no such questionnaire version.")
        history = await versions(session, consulate_id)
    return render(
        "questionnaires/definition.html",
        request,
        {
            "consulate": consulate,
            "definition": definition,
            "history": history,
            "current_version": history[0].version if history else 0,
            "can_edit": may(actor, Action.QUESTIONNAIRE_EDIT, consulate_id),
            "saved": request.query.get("saved") == "1",
        },
    )


def _rows_from(definition_input: dict[str, Any] | None) -> list[dict[str, str]]:
    rows = [dict(p) for p in (definition_input or {}).get("parameters", [])]
    return rows + [dict.fromkeys(_TEXT_FIELDS, "") for _ in range(BLANK_ROWS)]


def definition_from_form(
    form: MultiDictProxy[Any],
) -> tuple[dict[str, Any], list[int], list[dict[str, str]]]:
    """The form as a `QuestionnaireIn` body, the form row of each parameter, and all rows.

    Rows left blank or ticked "remove" are dropped; `position` numbers reorder the rest.
    """
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.items():
        found = _ROW_FIELD.match(name)
        if found and int(found.group(1)) < MAX_ROWS:
            rows.setdefault(int(found.group(1)), {})[found.group(2)] = str(value)
    ordered = []
    for index in sorted(rows):
        row = rows[index]
        if row.get("remove") or not any(row.get(f, "").strip() for f in _TEXT_FIELDS):
            continue
        position = row.get("position", "").strip()
        rank = int(position) if position.isdigit() else index + 1
        ordered.append((rank, index, row))
    ordered.sort(key=lambda item: (item[0], item[1]))
    body: dict[str, Any] = {
        name: str(form.get(name, ""))
        for name in ("name", "language", "required", "based_on_version")
    }
    if not body["based_on_version"]:
        body.pop("based_on_version")
    body["parameters"] = [
        {field: row.get(field, "") for field in _TEXT_FIELDS} for _, _, row in ordered
    ]
    all_rows = [
        {field: rows[i].get(field, "") for field in (*_TEXT_FIELDS, "position", "remove")}
        for i in sorted(rows)
    ]
    return body, [index for _, index, _ in ordered], all_rows


def _form_errors(details: list[dict[str, str]], row_of: list[int]) -> dict[str, str]:
    # "parameters.3.key" names the 4th kept parameter; the page shows it at its form row.
    out: dict[str, str] = {}
    for item in details:
        parts = item["field"].split(".")
        if len(parts) >= 2 and parts[0] == "parameters" and parts[1].isdigit():
            row = row_of[int(parts[1])] if int(parts[1]) < len(row_of) else int(parts[1])
            field = parts[2] if len(parts) > 2 else "key"
            out[f"p-{row}-{field}"] = item["message"]
        else:
            out[parts[0]] = item["message"]
    return out


@routes.get(f"/consulates/{_ID}/questionnaire/edit")
async def edit_form(request: web.Request) -> web.Response:
    """The definition form, filled with the current version (or blank)."""
    consulate_id = int(request.match_info["id"])
    authorize(signed_in(request), Action.QUESTIONNAIRE_EDIT, consulate_id=consulate_id)
    async with transaction(request) as session:
        consulate = await load_consulate(session, consulate_id)
        current = await current_definition(session, consulate_id)
    values = as_input(current) if current else {"name": "", "language": "", "required": ""}
    return render(
        "questionnaires/edit.html",
        request,
        {
            "consulate": consulate,
            "values": values,
            "rows": _rows_from(values),
            "based_on_version": current.version if current else 0,
            "errors": {},
        },
    )


@routes.post(f"/consulates/{_ID}/questionnaire/edit")
async def edit_save(request: web.Request) -> web.Response:
    """Save the form as the next version; on bad input show it again with the errors."""
    consulate_id = int(request.match_info["id"])
    actor = authorize(signed_in(request), Action.QUESTIONNAIRE_EDIT, consulate_id=consulate_id)
    form = await request.post()
    body, row_of, all_rows = definition_from_form(form)
    errors: dict[str, str] = {}
    status = 400
    try:
        data = QuestionnaireIn.model_validate(body)
        async with transaction(request) as session:
            consulate = await load_consulate(session, consulate_id)
            await save_definition(
                session,
                consulate,
                data,
                actor=actor,
                remote=remote(request),
                now=request.app[CLOCK](),
            )
        raise web.HTTPSeeOther(f"/consulates/{consulate_id}/questionnaire?saved=1")
    except ValidationError as error:
        errors = _form_errors(field_errors(error), row_of)
    except StaleDefinition as error:
        errors, status = {"based_on_version": str(error)}, 409
    except DefinitionError as error:
        errors = {error.field: str(error)}
    async with transaction(request) as session:
        consulate = await load_consulate(session, consulate_id)
    rows = all_rows + [dict.fromkeys(_TEXT_FIELDS, "") for _ in range(BLANK_ROWS)]
    return render(
        "questionnaires/edit.html",
        request,
        {
            "consulate": consulate,
            "values": body,
            "rows": rows,
            "based_on_version": body.get("based_on_version", 0),
            "errors": errors,
        },
        status=status,
    )


async def _case_page(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    submitted: dict[str, tuple[str, str]] | None = None,
    status: int = 200,
) -> web.Response:
    actor = signed_in(request)
    with questionnaire_errors():
        async with transaction(request) as session:
            grant = await load_case_grant(
                session, actor, int(request.match_info["id"]), Action.QUESTIONNAIRE_RESULT
            )
            if grant.share is not None:
                found = await filled(session, grant.case.id, grant.share.consulate_id)
                views = [found] if found else []
            else:
                views = await visible_filled(session, actor, grant.case.id)
            await record(
                session,
                "questionnaire.view",
                actor=actor,
                target_type="case",
                target_id=grant.case.id,
                remote=remote(request),
                now=request.app[CLOCK](),
            )
    return render(
        "questionnaires/case.html",
        request,
        {
            "case": grant.case,
            "views": views,
            "answering": grant.share is not None,
            # Admins see each answer; the facility's staff only the result.
            "show_answers": actor.role is Role.ADMIN,
            "consulate_id": grant.share.consulate_id if grant.share else None,
            "statuses": list(AnswerStatus),
            "errors": errors or {},
            "submitted": submitted or {},
            "saved": request.query.get("saved") == "1",
            "moved": request.query.get("moved") == "1",
        },
        status=status,
    )


@routes.get(f"/cases/{_ID}/questionnaire")
async def case_questionnaire(request: web.Request) -> web.Response:
    """A consul's answer form, or the results for the case's staff and admins (audited)."""
    return await _case_page(request)


def answers_from_form(form: MultiDictProxy[Any]) -> tuple[dict[str, Any], list[str]]:
    """The form as an `AnswersIn` body, and each answer's key in order."""
    keys = [name[2:] for name in form if name.startswith("s-")]
    answers = [
        {
            "key": key,
            "status": str(form.get(f"s-{key}", "")),
            "notes": str(form.get(f"n-{key}", "")),
        }
        for key in keys
    ]
    body: dict[str, Any] = {"answers": answers}
    version = str(form.get("version", ""))
    if version:
        body["version"] = version
    return body, keys


@routes.post(f"/cases/{_ID}/questionnaire")
async def case_answers(request: web.Request) -> web.Response:
    """Save the consul's answers; bad input shows the form again with what was typed."""
    actor = signed_in(request)
    case_id = int(request.match_info["id"])
    form = await request.post()
    body, keys = answers_from_form(form)
    submitted = {a["key"]: (a["status"], a["notes"]) for a in body["answers"]}
    try:
        data = AnswersIn.model_validate(body)
        with questionnaire_errors():
            async with transaction(request) as session:
                grant = await load_case_grant(session, actor, case_id, Action.QUESTIONNAIRE_ANSWER)
                assert grant.share is not None
                await save_answers(
                    session,
                    case_id,
                    grant.share.consulate_id,
                    data,
                    actor=actor,
                    remote=remote(request),
                    now=request.app[CLOCK](),
                )
    except ValidationError as error:
        errors = {}
        for item in field_errors(error):
            parts = item["field"].split(".")
            if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(keys):
                errors[keys[int(parts[1])]] = item["message"]
            else:
                errors[parts[0]] = item["message"]
        return await _case_page(request, errors=errors, submitted=submitted, status=400)
    except AnswerError as error:
        return await _case_page(
            request, errors={"answers": str(error)}, submitted=submitted, status=400
        )
    except StaleAnswers as error:
        return await _case_page(request, errors={"version": str(error)}, status=409)
    raise web.HTTPSeeOther(f"/cases/{case_id}/questionnaire?saved=1")


@routes.post(f"/cases/{_ID}/questionnaire/move")
async def case_move(request: web.Request) -> web.Response:
    """Move the case's answers to the consulate's newest questionnaire version."""
    actor = signed_in(request)
    case_id = int(request.match_info["id"])
    with questionnaire_errors():
        async with transaction(request) as session:
            grant = await load_case_grant(session, actor, case_id, Action.QUESTIONNAIRE_ANSWER)
            assert grant.share is not None
            await move_to_current(
                session,
                case_id,
                grant.share.consulate_id,
                actor=actor,
                remote=remote(request),
                now=request.app[CLOCK](),
            )
    raise web.HTTPSeeOther(f"/cases/{case_id}/questionnaire?moved=1")
