"""The cases JSON API: the work queue, one case, edits, status changes and sharing.

Every case is loaded through `interviews.case_access` (staff: own facility; consuls: only
while actively shared with their consulate; admins: all). Every read of a case is audited.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from interviews.access import Action, Actor, authorize
from interviews.accounts import Role
from interviews.audit import record
from interviews.case_access import load_case, load_case_grant, visible_cases
from interviews.case_records import (
    CaseIn,
    facility_today,
    get_facility,
    merged_input,
    open_case,
    update_case,
)
from interviews.case_status import allowed_next, change_status, status_history
from interviews.cases import Case, CaseStatus
from interviews.codes import CodeError, country, language
from interviews.queue import QueueFilter, parse_statuses, work_queue
from interviews.sharing import (
    RevokeIn,
    ShareIn,
    case_shares,
    get_share,
    revoke_share,
    share_case,
    share_dict,
)
from web.errors import invalid, not_found
from web.keys import CLOCK, SESSIONMAKER, SETTINGS
from web.openapi import error_responses, json_ok
from web.request_tools import json_body, parse, remote, signed_in, transaction
from web.routes.cases_common import case_view, domain_errors

routes = web.RouteTableDef()

_ID = r"{id:\d+}"


class StatusIn(BaseModel):
    """A status change and why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: CaseStatus
    reason: str = Field(min_length=1, max_length=2000)


_CASE = {"type": "object", "description": "A case (consuls do not see protective flags)"}
_ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_SHARE_PARAMS = [
    *_ID_PARAM,
    {"name": "share_id", "in": "path", "required": True, "schema": {"type": "integer"}},
]


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": model.model_json_schema()}},
    }


OPENAPI: dict[str, Any] = {
    "/api/cases": {
        "get": {
            "summary": "Work queue: the cases you may see, most urgent first",
            "description": "Unaccompanied minors, then minors, then by days left to the "
            "deadline. Staff see their facility's cases, consuls those shared with their "
            "consulate, admins all. Filters: status (repeatable; default every open status), "
            "nationality (ISO alpha-2), language (ISO 639-3), facility_id (admins). Paging: "
            "pass next_cursor back as `after`.",
            "parameters": [
                {"name": n, "in": "query", "schema": {"type": "string"}}
                for n in ("status", "nationality", "language", "facility_id", "after")
            ]
            + [{"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200}}],
            "responses": {
                "200": json_ok("items (each with days_left, urgency) and next_cursor"),
                **error_responses(400, 401, 403),
            },
        },
        "post": {
            "summary": "Open a case (staff of the facility, admins)",
            "requestBody": _body(CaseIn),
            "responses": {
                "201": json_ok("The case; Location names it", _CASE),
                **error_responses(400, 401, 403, 413, 415),
            },
        },
    },
    "/api/cases/{id}": {
        "get": {
            "summary": "One case (audited)",
            "parameters": _ID_PARAM,
            "responses": {"200": json_ok("The case", _CASE), **error_responses(401, 403, 404)},
        },
        "patch": {
            "summary": "Edit some fields of a case; `version` refuses stale edits (409)",
            "parameters": _ID_PARAM,
            "requestBody": {"required": True, "content": {"application/json": {}}},
            "responses": {
                "200": json_ok("The case as saved", _CASE),
                **error_responses(400, 401, 403, 404, 409, 415),
            },
        },
    },
    "/api/cases/{id}/status": {
        "post": {
            "summary": "Move the case along its status path, with a reason",
            "description": "409 lists the allowed next statuses in details.allowed.",
            "parameters": _ID_PARAM,
            "requestBody": _body(StatusIn),
            "responses": {
                "200": json_ok("The case as saved", _CASE),
                **error_responses(400, 401, 403, 404, 409, 415),
            },
        }
    },
    "/api/cases/{id}/history": {
        "get": {
            "summary": "Status history: who changed it, when, from, to and why",
            "parameters": _ID_PARAM,
            "responses": {
                "200": json_ok("The changes, oldest first"),
                **error_responses(401, 403, 404),
            },
        }
    },
    "/api/cases/{id}/shares": {
        "get": {
            "summary": "Shares of the case with consulates, active and revoked (staff, admins)",
            "parameters": _ID_PARAM,
            "responses": {"200": json_ok("The shares"), **error_responses(401, 403, 404)},
        },
        "post": {
            "summary": "Share the case with a consulate: purpose and consent or legal basis",
            "description": "An asylum case goes to a consulate of a country the person may "
            "be fleeing only from a supervisor with supervisor_justification (403 otherwise).",
            "parameters": _ID_PARAM,
            "requestBody": _body(ShareIn),
            "responses": {
                "201": json_ok("The share"),
                **error_responses(400, 401, 403, 404, 409, 415),
            },
        },
    },
    "/api/cases/{id}/shares/{share_id}/revoke": {
        "post": {
            "summary": "Revoke a share, with a reason: the consulate loses access at once",
            "parameters": _SHARE_PARAMS,
            "requestBody": _body(RevokeIn),
            "responses": {
                "200": json_ok("The share as revoked"),
                **error_responses(400, 401, 403, 404, 409, 415),
            },
        }
    },
}


def case_id(request: web.Request) -> int:
    """The {id} of the path."""
    return int(request.match_info["id"])


def queue_filter(query: Any, actor: Actor) -> QueueFilter:
    """Queue filters from a query string, or 400 naming the bad one."""
    errors = []
    try:
        statuses = parse_statuses(query.getall("status", []))
    except ValueError:
        statuses = frozenset()
        errors.append({"field": "status", "message": "unknown status"})
    nationality = language_code = None
    try:
        nationality = country(query["nationality"]) if query.get("nationality") else None
    except CodeError as error:
        errors.append({"field": "nationality", "message": str(error)})
    try:
        language_code = language(query["language"]) if query.get("language") else None
    except CodeError as error:
        errors.append({"field": "language", "message": str(error)})
    facility = query.get("facility_id") or ""
    if facility and not facility.isdigit():
        errors.append({"field": "facility_id", "message": "must be a number"})
    if errors:
        raise invalid(errors)
    return QueueFilter(
        statuses=statuses,
        nationality=nationality,
        language=language_code,
        facility_id=int(facility) if facility and actor.role is Role.ADMIN else None,
    )


def _limit(query: Any) -> int:
    raw = query.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise invalid([{"field": "limit", "message": "must be a number from 1 to 200"}])
    return int(raw)


@routes.get("/api/cases")
async def list_cases(request: web.Request) -> web.Response:
    """The work queue (staff, admins) or the cases shared with a consul's consulate."""
    actor = authorize(signed_in(request), Action.CASE_READ)
    filters = queue_filter(request.query, actor)
    limit = _limit(request.query)
    async with request.app[SESSIONMAKER]() as session:
        with domain_errors():
            page = await work_queue(
                session,
                visible_cases(actor),
                now=request.app[CLOCK](),
                near_days=request.app[SETTINGS].queue_near_deadline_days,
                filters=filters,
                after=request.query.get("after") or None,
                limit=limit,
            )
    items = [
        {**case_view(item.case, actor, days_left=item.days_left), "urgency": item.urgency}
        for item in page.items
    ]
    return web.json_response({"items": items, "next_cursor": page.next_cursor})


@routes.post("/api/cases")
async def create(request: web.Request) -> web.Response:
    """Open a case at the caller's facility (admins name facility_id)."""
    actor = authorize(signed_in(request), Action.CASE_CREATE)
    data = parse(CaseIn, await json_body(request))
    facility_id = data.facility_id if actor.role is Role.ADMIN else actor.facility_id
    if facility_id is None:
        raise invalid([{"field": "facility_id", "message": "name the facility of the case"}])
    authorize(actor, Action.CASE_CREATE, facility_id=facility_id)
    with domain_errors():
        async with transaction(request) as session:
            case = await open_case(
                session,
                data,
                facility_id=facility_id,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
            body = case_view(case, actor)
    response = web.json_response(body, status=201)
    response.headers["Location"] = f"/api/cases/{case.id}"
    return response


async def audit_view(session: Any, request: web.Request, actor: Actor, case: Case) -> None:
    """Record that `actor` looked at `case` (every view of a case is audited)."""
    await record(
        session,
        "case.view",
        actor=actor,
        target_type="case",
        target_id=case.id,
        remote=remote(request),
        now=request.app[CLOCK](),
    )


@routes.get(f"/api/cases/{_ID}")
async def get_one(request: web.Request) -> web.Response:
    """One case, as the caller may see it; the view is audited."""
    actor = signed_in(request)
    with domain_errors():
        async with transaction(request) as session:
            case = await load_case(session, actor, case_id(request), Action.CASE_READ)
            await audit_view(session, request, actor, case)
            facility = await get_facility(session, case.facility_id)
            assert facility is not None
            days_left = (case.deadline - facility_today(facility, request.app[CLOCK]())).days
            body = case_view(case, actor, days_left=days_left)
            body["allowed_next"] = [s.value for s in allowed_next(case.case_status)]
    return web.json_response(body)


@routes.patch(f"/api/cases/{_ID}")
async def edit(request: web.Request) -> web.Response:
    """Change the fields sent; the rest stay as they are."""
    actor = signed_in(request)
    changes = await json_body(request)
    if not isinstance(changes, dict):
        raise invalid([{"field": "body", "message": "send a JSON object of fields to change"}])
    version = changes.get("version")
    if version is not None and not isinstance(version, int):
        raise invalid([{"field": "version", "message": "must be a number"}])
    with domain_errors():
        async with transaction(request) as session:
            case = await load_case(session, actor, case_id(request), Action.CASE_EDIT)
            data = parse(CaseIn, merged_input(case, changes))
            facility = await get_facility(session, case.facility_id)
            assert facility is not None
            await update_case(
                session,
                case,
                data,
                version=version,
                facility=facility,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
            body = case_view(case, actor)
    return web.json_response(body)


@routes.post(f"/api/cases/{_ID}/status")
async def set_status(request: web.Request) -> web.Response:
    """Move the case to a new status (409 with the allowed ones if the path forbids it)."""
    actor = signed_in(request)
    data = parse(StatusIn, await json_body(request))
    with domain_errors():
        async with transaction(request) as session:
            case = await load_case(session, actor, case_id(request), Action.CASE_STATUS)
            await change_status(
                session,
                case,
                data.status,
                actor=actor,
                reason=data.reason,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
            body = case_view(case, actor)
    return web.json_response(body)


@routes.get(f"/api/cases/{_ID}/history")
async def history(request: web.Request) -> web.Response:
    """The case's status changes, oldest first."""
    actor = signed_in(request)
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            case = await load_case(session, actor, case_id(request), Action.CASE_EDIT)
            changes = await status_history(session, case.id)
    items = [
        {
            "at": change.at.isoformat(),
            "user": change.user_name,
            "from": change.from_status,
            "to": change.to_status,
            "reason": change.reason,
        }
        for change in changes
    ]
    return web.json_response({"case_id": case.id, "items": items})


@routes.get(f"/api/cases/{_ID}/shares")
async def list_shares(request: web.Request) -> web.Response:
    """Every share of the case, newest first (not for consuls: they see only their own)."""
    actor = signed_in(request)
    with domain_errors():
        async with request.app[SESSIONMAKER]() as session:
            case = await load_case(session, actor, case_id(request), Action.CASE_SHARE)
            shares = await case_shares(session, case.id)
    return web.json_response({"items": [share_dict(s, c) for s, c in shares]})


@routes.post(f"/api/cases/{_ID}/shares")
async def create_share(request: web.Request) -> web.Response:
    """Share the case with a consulate (an explicit, recorded act)."""
    actor = signed_in(request)
    data = parse(ShareIn, await json_body(request))
    with domain_errors():
        async with transaction(request) as session:
            case = await load_case(session, actor, case_id(request), Action.CASE_SHARE)
            share = await share_case(
                session, case, data, actor=actor, now=request.app[CLOCK](), remote=remote(request)
            )
            body = share_dict(share)
    return web.json_response(body, status=201)


@routes.post(f"/api/cases/{_ID}/shares/{{share_id:\\d+}}/revoke")
async def revoke(request: web.Request) -> web.Response:
    """Revoke a share with a reason."""
    actor = signed_in(request)
    data = parse(RevokeIn, await json_body(request))
    with domain_errors():
        async with transaction(request) as session:
            grant = await load_case_grant(session, actor, case_id(request), Action.CASE_SHARE)
            share = await get_share(session, grant.case.id, int(request.match_info["share_id"]))
            if share is None:
                raise not_found("No such share of this case.")
            await revoke_share(
                session,
                share,
                data.reason,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
            body = share_dict(share)
    return web.json_response(body)
