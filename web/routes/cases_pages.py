"""Case pages: the work queue (staff) or shared cases (consuls), and the case page itself.

The case page shows staff everything (status path, history, documents, shares); a consul
sees the identity data and documents shared with their consulate, watermarked, without
the protective flags. Every view is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from interviews import codes
from interviews.access import Action, Actor, Forbidden, authorize
from interviews.accounts import Role
from interviews.case_access import load_case, visible_cases
from interviews.case_records import facility_today, get_facility
from interviews.case_status import allowed_next, status_history
from interviews.cases import CaseStatus
from interviews.documents import DocumentKind, case_documents
from interviews.legal_holds import hold_history
from interviews.playback import recorded_interviews
from interviews.queue import BadCursor, work_queue
from interviews.sharing import case_shares, is_supervisor
from scheduling.appointments import case_interviews
from web.errors import ApiError
from web.keys import CLOCK, SESSIONMAKER, SETTINGS, USER
from web.request_tools import signed_in, transaction
from web.routes.cases_api import audit_view, queue_filter
from web.routes.cases_common import HIDDEN_FROM_CONSULS, domain_errors
from web.routes.questionnaires_pages import questionnaire_panel
from web.routes.scheduling_pages import STATUS_LABELS as INTERVIEW_LABELS
from web.templating import page_language, render

routes = web.RouteTableDef()

_ID = r"{id:\d+}"
PAGE_SIZE = 50

STATUS_LABELS: dict[str, str] = {
    "open": "Open",
    "interview_requested": "Interview requested",
    "interview_held": "Interview held",
    "identity_confirmed": "Identity confirmed",
    "identity_not_confirmed": "Identity not confirmed",
    "more_information_needed": "More information needed",
    "travel_document_requested": "Travel document requested",
    "travel_document_issued": "Travel document issued",
    "closed_returned": "Closed: returned",
    "closed_released": "Closed: released",
    "closed_transferred": "Closed: transferred",
}
KIND_LABELS: dict[str, str] = {
    "passport_copy": "Passport copy",
    "national_id": "National identity card",
    "birth_certificate": "Birth certificate",
    "photo": "Photo",
    "other": "Other document",
}
SEX_LABELS: dict[str, str] = {
    "female": "Female",
    "male": "Male",
    "other": "Other",
    "unknown": "Unknown",
}
BASIS_LABELS: dict[str, str] = {
    "consent": "The person's consent",
    "legal_obligation": "Legal obligation",
    "vital_interests": "Vital interests of the person",
    "public_interest": "Public interest",
}
FLAG_LABELS: dict[str, str] = {
    "unaccompanied_minor": "Unaccompanied minor",
    "minor": "Minor",
    "asylum_claim": "Asylum or refugee claim",
    "trafficking_victim": "Possible trafficking victim",
    "medical_needs": "Medical needs",
}


def may(actor: Actor, action: Action) -> bool:
    """Whether the caller's role may do `action` at all (to show or hide controls)."""
    try:
        authorize(actor, action)
    except Forbidden:
        return False
    return True


def local_time(request: web.Request, moment: datetime) -> str:
    """A moment in the viewer's own time zone."""
    user = request.get(USER)
    try:
        zone = ZoneInfo(user.time_zone if user is not None else "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def labels(request: web.Request) -> dict[str, Any]:
    """Label tables and helpers every case template uses."""
    return {
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        "sex_labels": SEX_LABELS,
        "basis_labels": BASIS_LABELS,
        "flag_labels": FLAG_LABELS,
        "local_time": lambda moment: local_time(request, moment),
    }


@routes.get("/cases")
async def queue_page(request: web.Request) -> web.Response:
    """Staff: the work queue. Consuls: the cases shared with their consulate."""
    actor = authorize(signed_in(request), Action.CASE_READ)
    params = {key: request.query.get(key, "") for key in ("status", "nationality", "language")}
    errors: dict[str, str] = {}
    try:
        filters = queue_filter(request.query, actor)
    except ApiError as error:  # bad filters: say which, and show no cases
        errors = {item["field"]: item["message"] for item in error.details or []}
        filters = None
    after = request.query.get("after") or None
    page = None
    async with request.app[SESSIONMAKER]() as session:
        if not errors:
            try:
                page = await work_queue(
                    session,
                    visible_cases(actor),
                    now=request.app[CLOCK](),
                    near_days=request.app[SETTINGS].queue_near_deadline_days,
                    filters=filters,
                    after=after,
                    limit=PAGE_SIZE,
                )
            except BadCursor:
                errors = {"after": "not a page of this list"}
    kept = {key: value for key, value in params.items() if value}
    context = {
        **labels(request),
        "params": params,
        "errors": errors,
        "items": page.items if page else [],
        "next": "/cases?" + urlencode({**kept, "after": page.next_cursor})
        if page and page.next_cursor
        else None,
        "first": "/cases?" + urlencode(kept) if after else None,
        "statuses": list(CaseStatus),
        "countries": codes.country_choices(page_language(request)),
        "is_consul": actor.role is Role.CONSUL,
        "can_create": may(actor, Action.CASE_CREATE),
        "near_days": request.app[SETTINGS].queue_near_deadline_days,
    }
    return render("cases/queue.html", request, context, status=400 if errors else 200)


@routes.get(f"/cases/{_ID}")
async def case_page(request: web.Request) -> web.Response:
    """One case; its view is audited."""
    actor = signed_in(request)
    with domain_errors():
        async with transaction(request) as session:
            case = await load_case(session, actor, int(request.match_info["id"]))
            await audit_view(session, request, actor, case)
            facility = await get_facility(session, case.facility_id)
            assert facility is not None
            documents = await case_documents(session, case.id)
            staff_view = actor.role is not Role.CONSUL
            history = await status_history(session, case.id) if staff_view else []
            shares = await case_shares(session, case.id) if staff_view else []
            supervisor = staff_view and await is_supervisor(session, actor, case.facility_id)
            questionnaire = await questionnaire_panel(session, actor, case)
            holds = await hold_history(session, case.id) if may(actor, Action.CASE_HOLD) else []
            interviews = await case_interviews(session, case.id, consulate_id=actor.consulate_id)
            recorded = (
                await recorded_interviews(session, case.id)
                if may(actor, Action.RECORDING_PLAY)
                else []
            )
    days_left = (case.deadline - facility_today(facility, request.app[CLOCK]())).days
    flags = [
        key
        for key in FLAG_LABELS
        if getattr(case, key) and (staff_view or key not in HIDDEN_FROM_CONSULS)
    ]
    if "unaccompanied_minor" in flags and "minor" in flags:
        flags.remove("minor")
    context = {
        **labels(request),
        "case": case,
        "facility": facility,
        "days_left": days_left,
        "near_days": request.app[SETTINGS].queue_near_deadline_days,
        "flags": flags,
        "documents": documents,
        "history": history,
        "shares": shares,
        "staff_view": staff_view,
        "supervisor": supervisor,
        "allowed_next": allowed_next(case.case_status) if staff_view else (),
        "can_edit": staff_view and may(actor, Action.CASE_EDIT),
        "notice": request.query.get("done", ""),
        "kinds": list(DocumentKind),
        "can_hold": may(actor, Action.CASE_HOLD),
        "holds": holds,
        "active_hold": next((hold for hold in holds if hold.active), None),
        "interviews": interviews,
        "interview_labels": INTERVIEW_LABELS,
        "can_book": may(actor, Action.SLOT_SEARCH)
        and not case.case_status.closed
        and not any(item.interview_status.active for item in interviews),
        "recorded": [
            (interview, count)
            for interview, count in recorded
            if actor.role is not Role.CONSUL or interview.consulate_id == actor.consulate_id
        ],
        **questionnaire,
    }
    return render("cases/view.html", request, context)
