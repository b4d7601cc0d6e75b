"""Legal holds on a case, by API and from the case page (facility staff of the case, admins).

GET  /api/cases/{id}/legal-hold            -> the active hold and the history
POST /api/cases/{id}/legal-hold            {"reason"} -> 201, the case is held
POST /api/cases/{id}/legal-hold/release    {"reason"} -> 200, the hold is cleared
POST /cases/{id}/legal-hold                (form: action=set|release, reason)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from interviews.access import Action
from interviews.case_access import load_case
from interviews.legal_holds import (
    MAX_REASON,
    HoldError,
    LegalHold,
    clear_hold,
    hold_history,
    set_hold,
)
from web.errors import ApiError
from web.keys import CLOCK
from web.openapi import error_responses, json_ok
from web.request_tools import json_body, parse, remote, signed_in, transaction
from web.routes.cases_common import domain_errors

routes = web.RouteTableDef()
_ID = r"{id:\d+}"


class HoldIn(BaseModel):
    """Why a hold is set or cleared."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=MAX_REASON)


def hold_json(hold: LegalHold) -> dict[str, Any]:
    """A hold as the API returns it."""
    return {
        "id": hold.id,
        "active": hold.active,
        "reason": hold.reason,
        "set_at": hold.set_at.isoformat(),
        "set_by": hold.set_by_name,
        "cleared_at": hold.cleared_at.isoformat() if hold.cleared_at else None,
        "cleared_by": hold.cleared_by_name or None,
        "clear_reason": hold.clear_reason or None,
    }


@contextmanager
def hold_errors() -> Iterator[None]:
    """Case errors as usual; a refused hold as 400 (reason) or 409 (state)."""
    with domain_errors():
        try:
            yield
        except HoldError as error:
            code = "conflict" if error.status == 409 else "invalid"
            raise ApiError(
                error.status, code, str(error), [{"field": error.field, "message": str(error)}]
            ) from None


async def _change(request: web.Request, reason: str, *, release: bool) -> LegalHold:
    actor = signed_in(request)
    async with transaction(request) as session:
        case = await load_case(session, actor, int(request.match_info["id"]), Action.CASE_HOLD)
        change = clear_hold if release else set_hold
        return await change(
            session,
            case,
            reason,
            actor=actor,
            now=request.app[CLOCK](),
            remote=remote(request),
        )


@routes.get(f"/api/cases/{_ID}/legal-hold")
async def read_hold(request: web.Request) -> web.Response:
    """Whether the case is held, and every hold it has had."""
    actor = signed_in(request)
    with hold_errors():
        async with transaction(request) as session:
            case = await load_case(session, actor, int(request.match_info["id"]), Action.CASE_HOLD)
            history = await hold_history(session, case.id)
    active = next((hold for hold in history if hold.active), None)
    return web.json_response(
        {
            "case_id": case.id,
            "held": active is not None,
            "hold": hold_json(active) if active else None,
            "history": [hold_json(hold) for hold in history],
        }
    )


@routes.post(f"/api/cases/{_ID}/legal-hold")
async def put_on_hold(request: web.Request) -> web.Response:
    """Hold the case: retention deletes nothing of it until the hold is cleared."""
    body = parse(HoldIn, await json_body(request))
    with hold_errors():
        hold = await _change(request, body.reason, release=False)
    return web.json_response(hold_json(hold), status=201)


@routes.post(f"/api/cases/{_ID}/legal-hold/release")
async def release_hold(request: web.Request) -> web.Response:
    """Clear the case's hold; retention applies again from its next run."""
    body = parse(HoldIn, await json_body(request))
    with hold_errors():
        hold = await _change(request, body.reason, release=True)
    return web.json_response(hold_json(hold))


@routes.post(f"/cases/{_ID}/legal-hold")
async def hold_from_form(request: web.Request) -> web.Response:
    """The case page's control: set or clear the hold with a reason, then back to the case."""
    form = await request.post()
    action = str(form.get("action", ""))
    if action not in ("set", "release"):
        raise ApiError(400, "invalid", "Choose to set or clear the hold.")
    with domain_errors():
        try:
            await _change(request, str(form.get("reason", "")), release=action == "release")
        except HoldError as error:
            # The error page shows (and translates) the message; the field list is for the API.
            code = "conflict" if error.status == 409 else "invalid"
            raise ApiError(error.status, code, str(error)) from None
    done = "held" if action == "set" else "released"
    raise web.HTTPSeeOther(f"/cases/{request.match_info['id']}?done={done}")


OPENAPI = {
    "/api/cases/{id}/legal-hold": {
        "get": {
            "summary": "Whether a case is on legal hold, and its holds (staff, admins)",
            "responses": {
                "200": json_ok("The active hold, if any, and the history"),
                **error_responses(401, 403, 404),
            },
        },
        "post": {
            "summary": "Put a case on legal hold with a reason: retention keeps all of it",
            "responses": {
                "201": json_ok("The hold"),
                **error_responses(400, 401, 403, 404, 409, 415),
            },
        },
    },
    "/api/cases/{id}/legal-hold/release": {
        "post": {
            "summary": "Clear a case's legal hold with a reason",
            "responses": {
                "200": json_ok("The cleared hold"),
                **error_responses(400, 401, 403, 404, 409, 415),
            },
        }
    },
}
