"""Scheduling pages: the interviews overview, finding and requesting a slot for a case,
and an interview's page where the consul answers and anyone entitled moves or cancels it.

Forms post back here; refusals re-render the page with the reason and change nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Action, Actor, Forbidden, authorize
from interviews.accounts import Role
from interviews.case_access import CaseNotFound, load_case, visible_cases
from interviews.cases import ACTIVE_STATUSES, Case
from interviews.consulates import Consulate
from interviews.directory import field_errors
from interviews.facilities import Facility
from interviews.summary_access import allowed
from scheduling import booking, slots, zones
from scheduling.appointments import ACTIVE_VALUES, Interview
from scheduling.booking_rules import (
    BookIn,
    BookingError,
    InterviewNotFound,
    ReasonIn,
    RescheduleIn,
    choose_consulate,
    load_interview,
)
from scheduling.joining import joinable
from scheduling.notify import when
from scheduling.search import case_consulates, load_context
from scheduling.slots import SearchResult
from web.errors import not_found
from web.keys import BOOKING_POLICY, CATALOGS, CLOCK, JOB_SCHEDULER, ROOMS, USER, WRITE_GATE
from web.request_tools import remote, signed_in, transaction
from web.routes.scheduling_common import int_param, note_shortfall, problem_text, viewer_zone
from web.templating import page_language, render

routes = web.RouteTableDef()
_ID = r"{id:\d+}"

STATUS_LABELS = {
    "requested": "Awaiting the consulate",
    "confirmed": "Confirmed",
    "declined": "Declined",
    "cancelled": "Cancelled",
    "no_show": "Not held: nobody joined",
}


def _gettext(request: web.Request) -> Any:
    return request.app[CATALOGS].get(page_language(request)).gettext


def _home_zone(actor: Actor, facility: Facility | None, consulate: Consulate | None) -> str:
    if actor.role is Role.CONSUL and consulate is not None:
        return consulate.time_zone
    return facility.time_zone if facility is not None else "UTC"


# -- overview -----------------------------------------------------------------------------


async def _upcoming(session: AsyncSession, actor: Actor, now: datetime) -> list[Interview]:
    query = select(Interview).where(
        Interview.status.in_(ACTIVE_VALUES), Interview.ends_at > now - timedelta(hours=2)
    )
    if actor.role is Role.STAFF:
        query = query.where(Interview.facility_id == actor.facility_id)
    elif actor.role is Role.CONSUL:
        query = query.where(Interview.consulate_id == actor.consulate_id)
    elif actor.role is Role.INTERPRETER:
        query = query.where(Interview.interpreter_id == actor.user_id)
    rows = await session.scalars(query.order_by(Interview.starts_at).limit(200))
    return list(rows.all())


@routes.get("/scheduling")
async def overview(request: web.Request) -> web.Response:
    """Upcoming interviews for the caller, and (staff) cases still needing one."""
    actor = signed_in(request)
    authorize(actor, Action.INTERVIEW_READ)
    now = request.app[CLOCK]()
    language = page_language(request)
    async with transaction(request) as session:
        interviews = await _upcoming(session, actor, now)
        facility = await session.get(Facility, actor.facility_id) if actor.facility_id else None
        consulate = await session.get(Consulate, actor.consulate_id) if actor.consulate_id else None
        zone_name = viewer_zone(request, actor, _home_zone(actor, facility, consulate))
        references = {
            case.id: case.reference
            for case in (
                await session.scalars(
                    select(Case).where(Case.id.in_([i.case_id for i in interviews]))
                )
            ).all()
        }
        waiting: list[Case] = []
        if actor.role in (Role.STAFF, Role.ADMIN):
            held = select(Interview.case_id).where(Interview.status.in_(ACTIVE_VALUES))
            waiting = list(
                (
                    await session.scalars(
                        select(Case)
                        .where(
                            visible_cases(actor),
                            Case.status.in_([s.value for s in ACTIVE_STATUSES]),
                            Case.id.not_in(held),
                        )
                        .order_by(Case.queue_priority, Case.deadline, Case.id)
                        .limit(100)
                    )
                ).all()
            )
    rows = [
        {
            "id": i.id,
            "when": when(i.starts_at, zone_name, language),
            "status": i.status,
            "reference": references.get(i.case_id, str(i.case_id)),
        }
        for i in interviews
    ]
    return render(
        "scheduling/overview.html",
        request,
        {
            "interviews": rows,
            "waiting": waiting,
            "zone": zone_name,
            "status_labels": STATUS_LABELS,
            "today": now.date(),
        },
    )


# -- finding and requesting a slot ----------------------------------------------------------


async def _search(
    request: web.Request, actor: Actor, case_id: int, *, reschedule: Interview | None
) -> tuple[Any, SearchResult, list[Consulate]]:
    consulate_param = request.query.get("consulate_id", "")
    async with transaction(request) as session:
        case = await load_case(session, actor, case_id, Action.SLOT_SEARCH)
        shared = await case_consulates(session, case.id)
        chosen = reschedule.consulate_id if reschedule else None
        if chosen is None and consulate_param.isdigit():
            chosen = int(consulate_param)
        consulate_id = choose_consulate([item.id for item in shared], chosen)
        context = await load_context(
            session,
            case,
            consulate_id,
            cache=request.app[WRITE_GATE].search_cache,
            now=request.app[CLOCK](),
            exclude=reschedule.id if reschedule else None,
            limit=40,
            per_day=6,
        )
    result = slots.search(context.request)
    await note_shortfall(request, context, result)
    return context, result, shared


async def _slots_page(
    request: web.Request,
    case_id: int,
    *,
    reschedule: Interview | None = None,
    error: str = "",
    status: int = 200,
) -> web.Response:
    actor = signed_in(request)
    language = page_language(request)
    gettext = _gettext(request)
    try:
        context, result, shared = await _search(request, actor, case_id, reschedule=reschedule)
    except BookingError as refused:
        # Not shared, or shared with several consulates and none chosen: say so plainly.
        async with transaction(request) as session:
            case = await load_case(session, actor, case_id, Action.SLOT_SEARCH)
            shared = await case_consulates(session, case.id)
        return render(
            "scheduling/slots.html",
            request,
            {"case": case, "shared": shared, "notice": refused.message, "context": None,
             "slots": [], "problems": [], "error": error, "reschedule": reschedule,
             "zone": "UTC", "consulate_id": None},
            status=status,
        )  # fmt: skip
    zone_name = viewer_zone(request, actor, context.facility.time_zone)
    rows = []
    for slot in result.slots:
        interpreter = context.interpreters.get(slot.interpreter_id) if slot.interpreter_id else None
        at = zones.from_minute(slot.start)
        rows.append(
            {
                "starts_at": at.isoformat(),
                "viewer": when(at, zone_name, language),
                "consulate": when(at, context.consulate.time_zone, language),
                "interpreter_time": when(at, interpreter.time_zone, language)
                if interpreter
                else "",
                "consul": context.consuls[slot.consul_id],
                "interpreter": interpreter,
                "room": context.rooms[slot.room_id],
                "priority_hold": slot.priority_hold,
                "slot": slot,
            }
        )
    problems = [problem_text(p, context, gettext, language) for p in result.problems]
    return render(
        "scheduling/slots.html",
        request,
        {
            "case": context.case,
            "context": context,
            "shared": shared,
            "slots": rows,
            "problems": problems,
            "error": error,
            "notice": "",
            "reschedule": reschedule,
            "zone": zone_name,
            "consulate_id": context.consulate.id,
            "until": when(zones.from_minute(result.window[1]), zone_name, language),
        },
        status=status,
    )


@routes.get(f"/scheduling/cases/{_ID}")
async def slots_page(request: web.Request) -> web.Response:
    """Bookable slots for a case, earliest first, in the viewer's zone and each party's."""
    try:
        return await _slots_page(request, int_param(request, "id"))
    except CaseNotFound:
        raise not_found("No such case.") from None


def _form_error(error: Exception) -> str:
    if isinstance(error, BookingError):
        return error.message
    if isinstance(error, ValidationError):
        return "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(error))
    return str(error)


@routes.post(f"/scheduling/cases/{_ID}/book")
async def book(request: web.Request) -> web.StreamResponse:
    """Request the chosen slot; back to the search with the reason when it is refused."""
    actor = signed_in(request)
    case_id = int_param(request, "id")
    form = await request.post()
    try:
        data = BookIn.model_validate(
            {
                "case_id": case_id,
                "consulate_id": form.get("consulate_id") or None,
                "starts_at": form.get("starts_at"),
                "consul_id": form.get("consul_id"),
                "interpreter_id": form.get("interpreter_id") or None,
                "room_id": form.get("room_id"),
            }
        )
        interview = await booking.request_interview(
            request.app[WRITE_GATE],
            data,
            booking.Change(actor, request.app[CLOCK](), remote(request)),
            request.app[BOOKING_POLICY],
            requester=request.get(USER),
        )
    except (BookingError, ValidationError) as error:
        status = error.status if isinstance(error, BookingError) else 400
        return await _slots_page(request, case_id, error=_form_error(error), status=status)
    except CaseNotFound:
        raise not_found("No such case.") from None
    request.app[JOB_SCHEDULER].wake()
    raise web.HTTPSeeOther(f"/scheduling/interviews/{interview.id}")


# -- one interview ----------------------------------------------------------------------------


async def _interview_page(
    request: web.Request, interview_id: int, *, error: str = "", status: int = 200
) -> web.Response:
    actor = signed_in(request)
    language = page_language(request)
    try:
        async with transaction(request) as session:
            interview = await load_interview(session, actor, interview_id, Action.INTERVIEW_READ)
            case = await session.get(Case, interview.case_id)
            consulate = await session.get(Consulate, interview.consulate_id)
            facility = await session.get(Facility, interview.facility_id)
    except InterviewNotFound:
        raise not_found("No such interview.") from None
    zone_name = viewer_zone(request, actor, _home_zone(actor, facility, consulate))
    people = [
        {
            "role": p.role,
            "name": p.name,
            "time": when(interview.starts_at, p.time_zone, language),
            "joined": p.joined_at is not None,
        }
        for p in interview.current_participants()
    ]
    can_respond = actor.role in (Role.CONSUL, Role.ADMIN) and interview.status == "requested"
    can_change = actor.role in (Role.STAFF, Role.CONSUL, Role.ADMIN) and interview.status in (
        "requested",
        "confirmed",
    )
    return render(
        "scheduling/interview.html",
        request,
        {
            "interview": interview,
            "case": case,
            "consulate": consulate,
            "facility": facility,
            "viewer_time": when(interview.starts_at, zone_name, language),
            "zone": zone_name,
            "consulate_time": when(interview.starts_at, consulate.time_zone, language)
            if consulate
            else "",
            "facility_time": when(interview.starts_at, facility.time_zone, language)
            if facility
            else "",
            "people": people,
            "status_label": STATUS_LABELS.get(interview.status, interview.status),
            "can_respond": can_respond,
            "can_change": can_change,
            "can_join": joinable(interview, actor.user_id, request.app[CLOCK]()),
            # Links to the outcome form and the summary (interviews.summary_access rules).
            "can_outcome": allowed(actor, Action.OUTCOME_RECORD, interview),
            "can_summary": allowed(actor, Action.SUMMARY_READ, interview),
            "error": error,
        },
        status=status,
    )


@routes.get(f"/scheduling/interviews/{_ID}")
async def interview_page(request: web.Request) -> web.Response:
    """An interview: when (for everyone), who, status, and the actions the caller may take."""
    return await _interview_page(request, int_param(request, "id"))


@routes.post(r"/scheduling/interviews/{id:\d+}/{act:confirm|decline|cancel}")
async def answer(request: web.Request) -> web.StreamResponse:
    """Confirm, decline (with a reason) or cancel (with a reason)."""
    actor = signed_in(request)
    interview_id = int_param(request, "id")
    act = request.match_info["act"]
    form = await request.post()
    change = booking.Change(actor, request.app[CLOCK](), remote(request))
    gate, policy = request.app[WRITE_GATE], request.app[BOOKING_POLICY]
    try:
        if act == "confirm":
            await booking.confirm(gate, interview_id, change, policy)
        else:
            reason = ReasonIn.model_validate({"reason": form.get("reason", "")}).reason
            operation = booking.decline if act == "decline" else booking.cancel
            await operation(gate, interview_id, reason, change, policy)
            if act == "cancel":
                await request.app[ROOMS].withdraw(interview_id, "cancelled")
    except (BookingError, ValidationError) as error:
        status = error.status if isinstance(error, BookingError) else 400
        return await _interview_page(request, interview_id, error=_form_error(error), status=status)
    except InterviewNotFound:
        raise not_found("No such interview.") from None
    request.app[JOB_SCHEDULER].wake()
    raise web.HTTPSeeOther(f"/scheduling/interviews/{interview_id}")


@routes.get(f"/scheduling/interviews/{_ID}/reschedule")
async def reschedule_page(request: web.Request) -> web.Response:
    """Slots to move an interview to (its own time does not count as taken)."""
    actor = signed_in(request)
    interview_id = int_param(request, "id")
    try:
        async with transaction(request) as session:
            interview = await load_interview(session, actor, interview_id, Action.INTERVIEW_CHANGE)
    except InterviewNotFound:
        raise not_found("No such interview.") from None
    if actor.role is Role.CONSUL:
        # Consuls may move their interviews but not run a search over the case file.
        raise Forbidden(Action.SLOT_SEARCH, "ask the facility to propose another time")
    return await _slots_page(request, interview.case_id, reschedule=interview)


@routes.post(f"/scheduling/interviews/{_ID}/reschedule")
async def reschedule(request: web.Request) -> web.StreamResponse:
    """Move the interview to the chosen slot, with a reason."""
    actor = signed_in(request)
    interview_id = int_param(request, "id")
    form = await request.post()
    try:
        data = RescheduleIn.model_validate(
            {
                "starts_at": form.get("starts_at"),
                "consul_id": form.get("consul_id") or None,
                "interpreter_id": form.get("interpreter_id") or None,
                "room_id": form.get("room_id") or None,
                "reason": form.get("reason", ""),
            }
        )
        await booking.reschedule(
            request.app[WRITE_GATE],
            interview_id,
            data,
            booking.Change(actor, request.app[CLOCK](), remote(request)),
            request.app[BOOKING_POLICY],
        )
        await request.app[ROOMS].withdraw(interview_id, "rescheduled")
    except (BookingError, ValidationError) as error:
        status = error.status if isinstance(error, BookingError) else 400
        return await _interview_page(request, interview_id, error=_form_error(error), status=status)
    except InterviewNotFound:
        raise not_found("No such interview.") from None
    request.app[JOB_SCHEDULER].wake()
    raise web.HTTPSeeOther(f"/scheduling/interviews/{interview_id}")
