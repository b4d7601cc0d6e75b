"""JSON API of interview outcomes and summaries (see docs/summaries.md).

Rules live in interviews.summary_access: the interview's consulate's consuls and its
facility's staff read; a consul of that consulate records the outcome; each side
acknowledges a version once, if it took part.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from interviews.access import Action
from interviews.audit import record
from interviews.case_status import TransitionRefused
from interviews.cases import Case
from interviews.outcome_recording import OutcomeNotAllowed, record_outcome
from interviews.outcomes import OutcomeIn, current_outcome, iso
from interviews.summaries import SummaryVersion, current_summary, summary_version, summary_versions
from interviews.summary_access import (
    AlreadyAcknowledged,
    acknowledge,
    load_interview,
)
from scheduling.booking_rules import InterviewNotFound
from web.errors import conflict, not_found
from web.keys import CLOCK, WRITE_GATE
from web.openapi import error_responses, json_ok
from web.request_tools import json_body, parse, remote, signed_in, transaction

routes = web.RouteTableDef()

_BASE = r"/api/interviews/{id:\d+}"
_VERSION: dict[str, Any] = {
    "type": "object",
    "required": ["interview_id", "version", "created_at", "sha256", "acknowledgements"],
    "properties": {
        "interview_id": {"type": "integer"},
        "version": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "reason": {"type": "string", "enum": ["ended", "left", "grace", "outcome", "refresh"]},
        "sha256": {"type": "string"},
        "acknowledgements": {"type": "array", "items": {"type": "object"}},
        "document": {"type": "object", "description": "The summary document (consulink-summary/1)"},
    },
}
_OUTCOME_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["identity", "nationality", "travel_document"],
    "properties": {
        "identity": {"enum": ["confirmed", "not_confirmed", "more_information_needed"]},
        "nationality": {"enum": ["confirmed", "not_confirmed"]},
        "nationality_country": {"type": "string", "nullable": True},
        "travel_document": {"enum": ["issue", "refuse", "pending"]},
        "next_steps": {"type": "string", "maxLength": 4000},
        "notes": {"type": "string", "maxLength": 8000},
    },
}

OPENAPI = {
    "/api/interviews/{id}/outcome": {
        "get": {
            "summary": "The interview's current outcome (null before one is recorded); audited",
            "responses": {
                "200": json_ok("{outcome, case_status}"),
                **error_responses(401, 403, 404),
            },
        },
        "put": {
            "summary": "Record the outcome (a consul of the interview's consulate); the case "
            "status walks to the finding, and an existing summary gets a new version",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _OUTCOME_BODY}},
            },
            "responses": {
                "200": json_ok("{outcome, case_status, summary_version}"),
                **error_responses(400, 401, 403, 404, 409, 415),
            },
        },
    },
    "/api/interviews/{id}/summary": {
        "get": {
            "summary": "The newest summary version with its document (viewing is audited)",
            "responses": {
                "200": json_ok("A summary version", _VERSION),
                **error_responses(401, 403, 404),
            },
        }
    },
    "/api/interviews/{id}/summary/versions": {
        "get": {
            "summary": "Every summary version, newest first, without documents",
            "responses": {"200": json_ok("{items: [...]}"), **error_responses(401, 403, 404)},
        }
    },
    "/api/interviews/{id}/summary/versions/{version}": {
        "get": {
            "summary": "One summary version with its document (viewing is audited)",
            "responses": {
                "200": json_ok("A summary version", _VERSION),
                **error_responses(401, 403, 404),
            },
        }
    },
    "/api/interviews/{id}/summary/versions/{version}/acknowledgements": {
        "post": {
            "summary": "Acknowledge this version for your side (consul or facility; you must "
            "have taken part); audited",
            "responses": {
                "201": json_ok("The version with its acknowledgements", _VERSION),
                **error_responses(401, 403, 404, 409),
            },
        }
    },
}


@contextmanager
def summary_errors() -> Iterator[None]:
    """Domain refusals as API errors (pages catch the same exceptions themselves)."""
    try:
        yield
    except InterviewNotFound:
        raise not_found("No such interview.") from None
    except TransitionRefused as refused:
        raise conflict(
            f"The case cannot take this outcome: {refused}",
            {"case_status": refused.current.value, "allowed": refused.allowed},
        ) from None
    except OutcomeNotAllowed as refused:
        raise conflict(f"No outcome can be recorded: {refused}.") from None
    except AlreadyAcknowledged as done:
        raise conflict(
            f"Your side has already acknowledged this version ({done.user_name}).",
        ) from None


def version_json(version: SummaryVersion, *, document: bool = True) -> dict[str, Any]:
    """A summary version in the API's shape."""
    body: dict[str, Any] = {
        "interview_id": version.interview_id,
        "version": version.version,
        "created_at": iso(version.created_at),
        "reason": version.reason,
        "sha256": version.sha256,
        "acknowledgements": [
            {"party": a.party, "user_name": a.user_name, "at": iso(a.at), "sha256": a.sha256}
            for a in version.acknowledgements
        ],
    }
    if document:
        body["document"] = version.document
    return body


def _ids(request: web.Request) -> tuple[int, int | None]:
    raw = request.match_info.get("version")
    return int(request.match_info["id"]), int(raw) if raw is not None else None


async def audit_view(
    session: Any, request: web.Request, version: SummaryVersion | None, interview_id: int = 0
) -> None:
    """Viewing a summary (or, with no version, the outcome) lands in the audit log, like
    every view of a person's data."""
    await record(
        session,
        "summary.view" if version is not None else "outcome.view",
        actor=signed_in(request),
        target_type="interview",
        target_id=version.interview_id if version is not None else interview_id,
        remote=remote(request),
        details={"version": version.version} if version is not None else {},
        now=request.app[CLOCK](),
    )


@routes.get(_BASE + "/outcome")
async def get_outcome(request: web.Request) -> web.Response:
    """The current outcome and the case's status."""
    interview_id, _ = _ids(request)
    with summary_errors():
        async with transaction(request) as session:
            interview = await load_interview(
                session, signed_in(request), interview_id, Action.SUMMARY_READ
            )
            outcome = await current_outcome(session, interview.id)
            case = await session.get(Case, interview.case_id)
            await audit_view(session, request, None, interview.id)
            return web.json_response(
                {
                    "outcome": outcome.as_document() if outcome else None,
                    "case_status": case.status if case else None,
                }
            )


@routes.put(_BASE + "/outcome")
async def put_outcome(request: web.Request) -> web.Response:
    """Record the outcome; bad values are refused whole (400, nothing saved)."""
    interview_id, _ = _ids(request)
    actor = signed_in(request)
    data = parse(OutcomeIn, await json_body(request))
    with summary_errors():
        async with request.app[WRITE_GATE].transaction() as session:
            interview = await load_interview(session, actor, interview_id, Action.OUTCOME_RECORD)
            done = await record_outcome(
                session,
                interview,
                data,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
            return web.json_response(
                {
                    "outcome": done.outcome.as_document(),
                    "case_status": done.case.status,
                    "summary_version": done.summary.version if done.summary else None,
                }
            )


@routes.get(_BASE + "/summary")
async def get_summary(request: web.Request) -> web.Response:
    """The newest summary version."""
    interview_id, _ = _ids(request)
    with summary_errors():
        async with transaction(request) as session:
            await load_interview(session, signed_in(request), interview_id, Action.SUMMARY_READ)
            version = await current_summary(session, interview_id)
            if version is None:
                raise not_found("This interview has no summary yet.")
            await audit_view(session, request, version)
            return web.json_response(version_json(version))


@routes.get(_BASE + "/summary/versions")
async def list_versions(request: web.Request) -> web.Response:
    """Every version, newest first (metadata and acknowledgements only)."""
    interview_id, _ = _ids(request)
    with summary_errors():
        async with transaction(request) as session:
            await load_interview(session, signed_in(request), interview_id, Action.SUMMARY_READ)
            versions = await summary_versions(session, interview_id)
            return web.json_response({"items": [version_json(v, document=False) for v in versions]})


@routes.get(_BASE + r"/summary/versions/{version:\d+}")
async def get_version(request: web.Request) -> web.Response:
    """One version with its document."""
    interview_id, number = _ids(request)
    assert number is not None
    with summary_errors():
        async with transaction(request) as session:
            await load_interview(session, signed_in(request), interview_id, Action.SUMMARY_READ)
            version = await summary_version(session, interview_id, number)
            if version is None:
                raise not_found("This interview has no such summary version.")
            await audit_view(session, request, version)
            return web.json_response(version_json(version))


@routes.post(_BASE + r"/summary/versions/{version:\d+}/acknowledgements")
async def post_acknowledgement(request: web.Request) -> web.Response:
    """Acknowledge a version for the caller's side."""
    interview_id, number = _ids(request)
    assert number is not None
    actor = signed_in(request)
    with summary_errors():
        async with request.app[WRITE_GATE].transaction() as session:
            interview = await load_interview(
                session, actor, interview_id, Action.SUMMARY_ACKNOWLEDGE
            )
            version = await summary_version(session, interview_id, number)
            if version is None:
                raise not_found("This interview has no such summary version.")
            await acknowledge(
                session, interview, version, actor, now=request.app[CLOCK](), remote=remote(request)
            )
            return web.json_response(version_json(version, document=False), status=201)
