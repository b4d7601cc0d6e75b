"""The questionnaire JSON API: each consulate's definition, and a case's answers and result.

Definitions: anyone signed in reads them; admins and the consulate's own consuls save a
new version. Answers: only a consul of a consulate the case is actively shared with
answers; the case's staff and admins read results (staff without the consul's notes).
Cases are loaded through `interviews.case_access`, the one place that rule lives.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from interviews.access import Action, Actor, authorize
from interviews.accounts import Role
from interviews.audit import record
from interviews.case_access import CaseNotFound, load_case_grant
from interviews.consulates import Consulate
from interviews.questionnaire_answers import (
    AnswerError,
    AnswersIn,
    NoQuestionnaire,
    StaleAnswers,
    move_to_current,
    save_answers,
    visible_filled,
)
from interviews.questionnaire_results import Filled
from interviews.questionnaires import (
    DefinitionError,
    QuestionnaireIn,
    StaleDefinition,
    as_dict,
    current_definition,
    definition_version,
    save_definition,
    versions,
)
from web.errors import ApiError, invalid, not_found
from web.keys import CLOCK
from web.openapi import error_responses, json_ok
from web.request_tools import json_body, parse, remote, signed_in, transaction

routes = web.RouteTableDef()

_CONSULATE = r"/api/consulates/{id:\d+}/questionnaire"
_CASE = r"/api/cases/{id:\d+}/questionnaire"
_DEFINITION = {"type": "object", "description": "A questionnaire version: rule and parameters"}
_FILLED = {
    "type": "object",
    "description": "A consulate's questionnaire for the case: result (met, n of m, needed) "
    "and, for consuls and admins, each parameter's answer",
}
OPENAPI = {
    "/api/consulates/{id}/questionnaire": {
        "get": {
            "summary": "The consulate's current questionnaire (or ?version=N)",
            "responses": {
                "200": json_ok("The definition", _DEFINITION),
                **error_responses(400, 401, 404),
            },
        },
        "put": {
            "summary": "Save the consulate's questionnaire as a new version (admins, its consuls)",
            "responses": {
                "200": json_ok("The current definition; `created` says if a version was added"),
                **error_responses(400, 401, 403, 404, 409, 415),
            },
        },
    },
    "/api/consulates/{id}/questionnaire/versions": {
        "get": {
            "summary": "Every version of the consulate's questionnaire, newest first",
            "responses": {"200": json_ok("The versions"), **error_responses(401, 404)},
        }
    },
    "/api/cases/{id}/questionnaire": {
        "get": {
            "summary": "The case's questionnaires with results (a consul sees their own)",
            "responses": {
                "200": json_ok("{items: [...]}", {"type": "object"}),
                **error_responses(401, 403, 404),
            },
        }
    },
    "/api/cases/{id}/questionnaire/answers": {
        "put": {
            "summary": "Record answers (consul of a consulate the case is shared with); audited",
            "responses": {
                "200": json_ok("The questionnaire with the new result", _FILLED),
                **error_responses(400, 401, 403, 404, 409, 415),
            },
        }
    },
    "/api/cases/{id}/questionnaire/move": {
        "post": {
            "summary": "Move the case's answers to the consulate's newest questionnaire version",
            "responses": {
                "200": json_ok("The questionnaire on the newest version", _FILLED),
                **error_responses(401, 403, 404),
            },
        }
    },
}


@contextmanager
def questionnaire_errors() -> Iterator[None]:
    """Turn the questionnaire domain's refusals into API errors."""
    try:
        yield
    except CaseNotFound:
        raise not_found("No such case.") from None
    except NoQuestionnaire as error:
        raise not_found(str(error)) from None
    except StaleDefinition as error:
        raise ApiError(
            409, "stale", str(error), {"field": error.field, "current_version": error.current}
        ) from None
    except DefinitionError as error:
        raise invalid([{"field": error.field, "message": str(error)}]) from None
    except AnswerError as error:
        raise invalid([{"field": error.field, "message": str(error)}]) from None
    except StaleAnswers as error:
        raise ApiError(409, "stale", str(error), {"field": "version"}) from None
    except IntegrityError:
        # Two first saves of the same case, or two new versions, at the same moment.
        raise ApiError(
            409, "conflict", "Someone saved at the same moment; reload and retry."
        ) from None


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


def filled_body(view: Filled, actor: Actor) -> dict[str, Any]:
    """A filled questionnaire as `actor` may see it: staff get the result, not the notes."""
    return view.as_dict(with_answers=actor.role is not Role.STAFF)


async def load_consulate(session: Any, consulate_id: int) -> Consulate:
    """The consulate, or 404."""
    found = await session.get(Consulate, consulate_id)
    if found is None:
        raise not_found("No such consulate.")
    assert isinstance(found, Consulate)
    return found


@routes.get(_CONSULATE)
async def get_definition(request: web.Request) -> web.Response:
    """The current definition, or the version asked for."""
    authorize(signed_in(request), Action.QUESTIONNAIRE_READ)
    raw = request.query.get("version")
    if raw is not None and not raw.isdigit():
        raise invalid([{"field": "version", "message": "must be a whole number"}])
    async with transaction(request) as session:
        consulate = await load_consulate(session, _id(request))
        definition = (
            await definition_version(session, consulate.id, int(raw))
            if raw is not None
            else await current_definition(session, consulate.id)
        )
        if definition is None:
            raise not_found("This consulate has no such questionnaire.")
        body = as_dict(definition)
    return web.json_response(body)


@routes.put(_CONSULATE)
async def put_definition(request: web.Request) -> web.Response:
    """Save a definition; a changed one becomes the next version (audited)."""
    actor = authorize(signed_in(request), Action.QUESTIONNAIRE_EDIT, consulate_id=_id(request))
    data = parse(QuestionnaireIn, await json_body(request))
    with questionnaire_errors():
        async with transaction(request) as session:
            consulate = await load_consulate(session, _id(request))
            definition, created = await save_definition(
                session,
                consulate,
                data,
                actor=actor,
                remote=remote(request),
                now=request.app[CLOCK](),
            )
            body = {**as_dict(definition), "created": created}
    return web.json_response(body)


@routes.get(_CONSULATE + "/versions")
async def list_versions(request: web.Request) -> web.Response:
    """Every version, newest first."""
    authorize(signed_in(request), Action.QUESTIONNAIRE_READ)
    async with transaction(request) as session:
        consulate = await load_consulate(session, _id(request))
        items = [
            {
                "version": v.version,
                "name": v.name,
                "rule": f"{v.required} of {v.total}",
                "required": v.required,
                "total": v.total,
                "created_at": v.created_at.isoformat(),
                "created_by_name": v.created_by_name,
            }
            for v in await versions(session, consulate.id)
        ]
    return web.json_response({"items": items})


@routes.get(_CASE)
async def get_case_questionnaires(request: web.Request) -> web.Response:
    """The case's questionnaires the caller may see, each with its computed result."""
    actor = signed_in(request)
    with questionnaire_errors():
        async with transaction(request) as session:
            grant = await load_case_grant(session, actor, _id(request), Action.QUESTIONNAIRE_RESULT)
            views = await visible_filled(session, actor, grant.case.id)
            body = {"items": [filled_body(view, actor) for view in views]}
            await record(
                session,
                "questionnaire.view",
                actor=actor,
                target_type="case",
                target_id=grant.case.id,
                remote=remote(request),
                now=request.app[CLOCK](),
            )
    return web.json_response(body)


@routes.put(_CASE + "/answers")
async def put_answers(request: web.Request) -> web.Response:
    """Record the consul's answers; 400 naming any parameter the questionnaire lacks."""
    actor = signed_in(request)
    data = parse(AnswersIn, await json_body(request))
    with questionnaire_errors():
        async with transaction(request) as session:
            grant = await load_case_grant(session, actor, _id(request), Action.QUESTIONNAIRE_ANSWER)
            assert grant.share is not None  # answering is for consuls, who read through a share
            view = await save_answers(
                session,
                grant.case.id,
                grant.share.consulate_id,
                data,
                actor=actor,
                remote=remote(request),
                now=request.app[CLOCK](),
            )
            body = filled_body(view, actor)
    return web.json_response(body)


@routes.post(_CASE + "/move")
async def move(request: web.Request) -> web.Response:
    """Carry the case's answers over to the newest version of the definition."""
    actor = signed_in(request)
    with questionnaire_errors():
        async with transaction(request) as session:
            grant = await load_case_grant(session, actor, _id(request), Action.QUESTIONNAIRE_ANSWER)
            assert grant.share is not None
            view = await move_to_current(
                session,
                grant.case.id,
                grant.share.consulate_id,
                actor=actor,
                remote=remote(request),
                now=request.app[CLOCK](),
            )
            body = filled_body(view, actor)
    return web.json_response(body)
