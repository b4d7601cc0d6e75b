"""Pages for an interview's outcome (the consul's form) and its summary (versions,
acknowledgements). Same rules as the API (web.routes.summary_api, interviews.summary_access).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from interviews.access import Action
from interviews.case_status import TransitionRefused
from interviews.cases import Case
from interviews.directory import field_errors
from interviews.outcome_recording import OutcomeNotAllowed, record_outcome
from interviews.outcomes import Identity, Nationality, OutcomeIn, TravelDocument, current_outcome
from interviews.questionnaire_answers import filled
from interviews.summaries import Party, current_summary, summary_version, summary_versions
from interviews.summary_access import (
    AlreadyAcknowledged,
    acknowledge,
    allowed,
    load_interview,
    party_of,
    took_part,
)
from scheduling.booking_rules import InterviewNotFound
from web.errors import not_found
from web.keys import CLOCK, WRITE_GATE
from web.request_tools import remote, signed_in, transaction
from web.routes.cases_pages import STATUS_LABELS
from web.routes.summary_api import audit_view
from web.templating import render

routes = web.RouteTableDef()

_ID = r"{id:\d+}"
OUTCOME_FIELDS = (
    "identity",
    "nationality",
    "nationality_country",
    "travel_document",
    "next_steps",
    "notes",
)

# What the form says when a field's value is refused, whatever pydantic's reason (one
# explanation per field fits this form); English msgids, translated on the page.
FIELD_PROBLEMS = {
    "identity": "Choose one of the findings on identity.",
    "nationality": "Choose whether the nationality is confirmed.",
    "nationality_country": "Not a known country: give its ISO code, such as IN or IND.",
    "travel_document": "Choose a decision on the travel document.",
    "next_steps": "Too long: at most 4000 characters.",
    "notes": "Too long: at most 8000 characters.",
}
NOT_CONFIRMED = "An outcome can be recorded only for a confirmed interview."
STATUS_REFUSED = "The case's current status does not allow this outcome."


def _interview_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _outcome_page(
    request: web.Request,
    *,
    errors: dict[str, str] | None = None,
    submitted: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    actor = signed_in(request)
    interview_id = _interview_id(request)
    try:
        async with transaction(request) as session:
            interview = await load_interview(session, actor, interview_id, Action.OUTCOME_RECORD)
            case = await session.get(Case, interview.case_id)
            outcome = await current_outcome(session, interview_id)
            questionnaire = await filled(session, interview.case_id, interview.consulate_id)
            await audit_view(session, request, None, interview.id)
    except InterviewNotFound:
        raise not_found("No such interview.") from None
    values = submitted or (
        {
            "identity": outcome.identity,
            "nationality": outcome.nationality,
            "nationality_country": outcome.nationality_country or "",
            "travel_document": outcome.travel_document,
            "next_steps": outcome.next_steps,
            "notes": outcome.notes,
        }
        if outcome
        else {"nationality_country": case.claimed_nationality if case else ""}
    )
    return render(
        "summaries/outcome.html",
        request,
        {
            "interview": interview,
            "case": case,
            "outcome": outcome,
            "questionnaire": questionnaire if questionnaire and questionnaire.started else None,
            "values": values,
            "errors": errors or {},
            "identities": list(Identity),
            "nationalities": list(Nationality),
            "travel_documents": list(TravelDocument),
            "status_labels": STATUS_LABELS,
        },
        status=status,
    )


@routes.get(f"/interviews/{_ID}/outcome")
async def outcome_form(request: web.Request) -> web.Response:
    """The consul's outcome form, filled with the current outcome if there is one."""
    return await _outcome_page(request)


@routes.post(f"/interviews/{_ID}/outcome")
async def outcome_save(request: web.Request) -> web.Response:
    """Save the outcome; bad input shows the form again with what was typed."""
    actor = signed_in(request)
    interview_id = _interview_id(request)
    form = await request.post()
    submitted = {name: str(form.get(name, "")) for name in OUTCOME_FIELDS}
    body: dict[str, Any] = {k: v for k, v in submitted.items() if v or k in ("identity",)}
    try:
        data = OutcomeIn.model_validate(body)
        async with request.app[WRITE_GATE].transaction() as session:
            interview = await load_interview(session, actor, interview_id, Action.OUTCOME_RECORD)
            await record_outcome(
                session,
                interview,
                data,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    except ValidationError as error:
        errors = {
            item["field"]: FIELD_PROBLEMS.get(item["field"], item["message"])
            for item in field_errors(error)
        }
        return await _outcome_page(request, errors=errors, submitted=submitted, status=400)
    except (TransitionRefused, OutcomeNotAllowed) as refused:
        problem = NOT_CONFIRMED if isinstance(refused, OutcomeNotAllowed) else STATUS_REFUSED
        return await _outcome_page(
            request, errors={"case": problem}, submitted=submitted, status=409
        )
    except InterviewNotFound:
        raise not_found("No such interview.") from None
    raise web.HTTPSeeOther(f"/interviews/{interview_id}/summary?saved=1")


async def _summary_page(
    request: web.Request, *, error: str = "", status: int = 200
) -> web.Response:
    actor = signed_in(request)
    interview_id = _interview_id(request)
    raw = request.query.get("version", "")
    try:
        async with transaction(request) as session:
            interview = await load_interview(session, actor, interview_id, Action.SUMMARY_READ)
            version = (
                await summary_version(session, interview_id, int(raw))
                if raw.isdigit()
                else await current_summary(session, interview_id)
            )
            if raw and version is None:
                raise not_found("This interview has no such summary version.")
            history = await summary_versions(session, interview_id)
            outcome = await current_outcome(session, interview_id)
            acknowledger = allowed(
                actor, Action.SUMMARY_ACKNOWLEDGE, interview
            ) and await took_part(session, interview, actor)
            if version is not None:
                await audit_view(session, request, version)
    except InterviewNotFound:
        raise not_found("No such interview.") from None
    party = party_of(actor) if acknowledger else None
    return render(
        "summaries/summary.html",
        request,
        {
            "interview": interview,
            "version": version,
            "document": version.document if version else None,
            "history": history,
            "newest": history[0].version if history else 0,
            "outcome": outcome,
            "party": party,
            "can_acknowledge": bool(
                version is not None and party is not None and not version.acknowledged_by(party)
            ),
            "parties": list(Party),
            "saved": request.query.get("saved") == "1",
            "acknowledged": request.query.get("acknowledged") == "1",
            "error": error,
        },
        status=status,
    )


@routes.get(f"/interviews/{_ID}/summary")
async def summary_page(request: web.Request) -> web.Response:
    """The summary (newest, or ?version=N), its versions and acknowledgements (audited)."""
    return await _summary_page(request)


@routes.post(f"/interviews/{_ID}/summary/acknowledge")
async def summary_acknowledge(request: web.Request) -> web.Response:
    """Acknowledge the version named in the form, for the caller's side."""
    actor = signed_in(request)
    interview_id = _interview_id(request)
    form = await request.post()
    raw = str(form.get("version", ""))
    if not raw.isdigit():
        return await _summary_page(request, error="Choose a version to acknowledge.", status=400)
    try:
        async with request.app[WRITE_GATE].transaction() as session:
            interview = await load_interview(
                session, actor, interview_id, Action.SUMMARY_ACKNOWLEDGE
            )
            version = await summary_version(session, interview_id, int(raw))
            if version is None:
                raise not_found("This interview has no such summary version.")
            await acknowledge(
                session, interview, version, actor, now=request.app[CLOCK](), remote=remote(request)
            )
    except InterviewNotFound:
        raise not_found("No such interview.") from None
    except AlreadyAcknowledged:
        return await _summary_page(
            request, error="Your side has already acknowledged this version.", status=409
        )
    raise web.HTTPSeeOther(f"/interviews/{interview_id}/summary?version={raw}&acknowledged=1")
