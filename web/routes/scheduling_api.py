"""JSON API of scheduling: availability of consulates, interpreters and rooms; slot search;
booking, answers, reschedules and cancellations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from interviews.access import Action, authorize
from interviews.case_access import load_case
from interviews.consulates import Consulate
from interviews.facilities import Facility
from scheduling import (
    appointments,
    availability,
    availability_input,
    booking,
    booking_request,
    slots,
)
from scheduling.booking_rules import (
    BookIn,
    ReasonIn,
    RescheduleIn,
    consulate_for,
    load_interview,
)
from scheduling.resources import VideoRoom
from scheduling.search import load_context
from web.errors import invalid, not_found
from web.keys import (
    BOOKING_POLICY,
    CATALOGS,
    CLOCK,
    ROOMS,
    USER,
    WRITE_GATE,
)
from web.openapi import error_responses, json_ok
from web.request_tools import json_body, parse, remote, signed_in, transaction
from web.routes.scheduling_common import (
    int_param,
    interview_response,
    interview_view,
    note_shortfall,
    query_int,
    scheduling_errors,
    search_view,
    viewer_zone,
)
from web.templating import page_language

routes = web.RouteTableDef()


def _op(summary: str, ok: str, *errors: int, status: str = "200") -> dict[str, Any]:
    return {"summary": summary, "responses": {status: json_ok(ok), **error_responses(*errors)}}


OPENAPI = {
    "/api/consulates/{consulate_id}/interview-hours": {
        "get": _op(
            "A consulate's interview length, buffer, notice and hours", "Hours", 401, 403, 404
        ),
        "put": _op(
            "Replace a consulate's interview settings and hours", "Hours", 400, 401, 403, 404, 415
        ),
    },
    "/api/interpreters/{user_id}/profile": {
        "get": _op(
            "An interpreter's languages, zone, hours and daily maximum", "Profile", 401, 403, 404
        ),
        "put": _op(
            "Create or replace an interpreter's profile", "Profile", 400, 401, 403, 404, 415
        ),
    },
    "/api/facilities/{facility_id}/rooms": {
        "get": _op("A facility's video rooms with their hours", "Rooms", 401, 403, 404),
        "post": _op("Add a video room", "The room", 400, 401, 403, 404, 409, 415, status="201"),
    },
    "/api/rooms/{room_id}": {
        "get": _op("A video room with its hours", "The room", 401, 403, 404),
        "put": _op(
            "Replace a room's name, state and hours", "The room", 400, 401, 403, 404, 409, 415
        ),
    },
    "/api/cases/{case_id}/slots": {
        "get": _op(
            "Slots where consul, interpreter and room are all free before the deadline; "
            "or what is missing",
            "Slots and problems",
            400,
            401,
            403,
            404,
            409,
        )
    },
    "/api/cases/{case_id}/interviews": {
        "get": _op("A case's interviews, newest first", "Interviews", 401, 403, 404)
    },
    "/api/interviews": {
        "post": _op(
            "Request an interview in a slot (409 names what clashed)",
            "The requested interview",
            400,
            401,
            403,
            404,
            409,
            415,
            status="201",
        )
    },
    "/api/interviews/{interview_id}": {"get": _op("An interview", "The interview", 401, 403, 404)},
    "/api/interviews/{interview_id}/confirm": {
        "post": _op(
            "The consul confirms a requested interview", "The interview", 401, 403, 404, 409
        )
    },
    "/api/interviews/{interview_id}/decline": {
        "post": _op(
            "The consul declines, with a reason", "The interview", 400, 401, 403, 404, 409, 415
        )
    },
    "/api/interviews/{interview_id}/cancel": {
        "post": _op("Cancel, with a reason", "The interview", 400, 401, 403, 404, 409, 415)
    },
    "/api/interviews/{interview_id}/reschedule": {
        "post": _op(
            "Move to another slot, with a reason", "The interview", 400, 401, 403, 404, 409, 415
        )
    },
}


# -- availability -------------------------------------------------------------------------


async def _consulate(request: web.Request, action: Action) -> int:
    consulate_id = int_param(request, "consulate_id")
    authorize(signed_in(request), action, consulate_id=consulate_id)
    async with transaction(request) as session:
        if await session.get(Consulate, consulate_id) is None:
            raise not_found("No such consulate.")
    return consulate_id


@routes.get("/api/consulates/{consulate_id}/interview-hours")
async def get_consulate_hours(request: web.Request) -> web.Response:
    """A consulate's interview settings and hours."""
    consulate_id = await _consulate(request, Action.SCHEDULE_CONSULATE)
    async with transaction(request) as session:
        return web.json_response(await availability.consulate_hours(session, consulate_id))


@routes.put("/api/consulates/{consulate_id}/interview-hours")
async def put_consulate_hours(request: web.Request) -> web.Response:
    """Replace a consulate's interview settings and hours."""
    consulate_id = await _consulate(request, Action.SCHEDULE_CONSULATE)
    data = parse(availability_input.ConsulateHoursIn, await json_body(request))
    async with request.app[WRITE_GATE].transaction() as session:
        body = await availability.set_consulate_hours(
            session,
            consulate_id,
            data,
            actor=signed_in(request),
            now=request.app[CLOCK](),
            remote=remote(request),
        )
    return web.json_response(body)


@routes.get("/api/interpreters/{user_id}/profile")
async def get_interpreter_profile(request: web.Request) -> web.Response:
    """An interpreter's profile (the interpreter themself, or an admin)."""
    user_id = int_param(request, "user_id")
    authorize(signed_in(request), Action.SCHEDULE_INTERPRETER, user_id=user_id)
    async with transaction(request) as session:
        body = await availability.interpreter_profile(session, user_id)
    if body is None:
        raise not_found("This interpreter has no profile yet.")
    return web.json_response(body)


@routes.put("/api/interpreters/{user_id}/profile")
async def put_interpreter_profile(request: web.Request) -> web.Response:
    """Create or replace an interpreter's profile."""
    user_id = int_param(request, "user_id")
    actor = authorize(signed_in(request), Action.SCHEDULE_INTERPRETER, user_id=user_id)
    data = parse(availability_input.InterpreterProfileIn, await json_body(request))
    with scheduling_errors():
        async with request.app[WRITE_GATE].transaction() as session:
            body = await availability.set_interpreter_profile(
                session,
                user_id,
                data,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    return web.json_response(body)


@routes.get("/api/facilities/{facility_id}/rooms")
async def list_rooms(request: web.Request) -> web.Response:
    """A facility's video rooms."""
    facility_id = int_param(request, "facility_id")
    authorize(signed_in(request), Action.SCHEDULE_ROOMS, facility_id=facility_id)
    async with transaction(request) as session:
        if await session.get(Facility, facility_id) is None:
            raise not_found("No such facility.")
        rooms = await availability.facility_rooms(session, facility_id)
        body = [await availability.room_dict(session, room) for room in rooms]
    return web.json_response({"rooms": body})


@routes.post("/api/facilities/{facility_id}/rooms")
async def add_room(request: web.Request) -> web.Response:
    """Add a video room to a facility."""
    facility_id = int_param(request, "facility_id")
    actor = authorize(signed_in(request), Action.SCHEDULE_ROOMS, facility_id=facility_id)
    data = parse(availability_input.RoomIn, await json_body(request))
    with scheduling_errors():
        async with request.app[WRITE_GATE].transaction() as session:
            if await session.get(Facility, facility_id) is None:
                raise not_found("No such facility.")
            body = await availability.save_room(
                session,
                facility_id,
                data,
                room=None,
                actor=actor,
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    return web.json_response(body, status=201)


async def _room(request: web.Request) -> VideoRoom:
    room_id = int_param(request, "room_id")
    actor = signed_in(request)
    authorize(actor, Action.SCHEDULE_ROOMS)
    async with transaction(request) as session:
        room = await session.get(VideoRoom, room_id)
    if room is None:
        raise not_found("No such room.")
    authorize(actor, Action.SCHEDULE_ROOMS, facility_id=room.facility_id)
    return room


@routes.get("/api/rooms/{room_id}")
async def get_room(request: web.Request) -> web.Response:
    """A video room with its hours."""
    room = await _room(request)
    async with transaction(request) as session:
        return web.json_response(await availability.room_dict(session, room))


@routes.put("/api/rooms/{room_id}")
async def put_room(request: web.Request) -> web.Response:
    """Replace a video room's name, state and hours."""
    found = await _room(request)
    data = parse(availability_input.RoomIn, await json_body(request))
    with scheduling_errors():
        async with request.app[WRITE_GATE].transaction() as session:
            room = await session.get(VideoRoom, found.id)
            body = await availability.save_room(
                session,
                found.facility_id,
                data,
                room=room,
                actor=signed_in(request),
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    return web.json_response(body)


# -- slots and booking ----------------------------------------------------------------------


@routes.get("/api/cases/{case_id}/slots")
async def case_slots(request: web.Request) -> web.Response:
    """Bookable slots for a case, earliest first, or what is missing."""
    actor = signed_in(request)
    case_id = int_param(request, "case_id")
    consulate_id = request.query.get("consulate_id")
    if consulate_id is not None and not consulate_id.isdigit():
        raise invalid([{"field": "consulate_id", "message": "must be a consulate id"}])
    limit = query_int(request, "limit", 20, 1, 200)
    per_day = query_int(request, "per_day", 0, 0, 96)
    days = query_int(request, "days", 30, 1, 120)
    with scheduling_errors():
        async with transaction(request) as session:
            case = await load_case(session, actor, case_id, Action.SLOT_SEARCH)
            chosen = await consulate_for(session, case, int(consulate_id) if consulate_id else None)
            context = await load_context(
                session,
                case,
                chosen,
                cache=request.app[WRITE_GATE].search_cache,
                now=request.app[CLOCK](),
                horizon=timedelta(days=days),
                limit=limit,
                per_day=per_day or None,
            )
    result = slots.search(context.request)
    await note_shortfall(request, context, result)
    viewer = viewer_zone(request, actor, context.facility.time_zone)
    language = page_language(request)
    gettext = request.app[CATALOGS].get(language).gettext
    return web.json_response(search_view(result, context, viewer, gettext, language))


@routes.get("/api/cases/{case_id}/interviews")
async def case_interviews(request: web.Request) -> web.Response:
    """A case's interviews, newest first (who may read the case may read them)."""
    actor = signed_in(request)
    case_id = int_param(request, "case_id")
    with scheduling_errors():
        async with transaction(request) as session:
            case = await load_case(session, actor, case_id)
            rows = await appointments.case_interviews(
                session, case.id, consulate_id=actor.consulate_id
            )
            facility = await session.get(Facility, case.facility_id)
            viewer = viewer_zone(request, actor, facility.time_zone if facility else "UTC")
            body = [interview_view(row, actor, viewer) for row in rows]
    return web.json_response({"interviews": body})


def _change(request: web.Request) -> booking.Change:
    return booking.Change(signed_in(request), request.app[CLOCK](), remote(request))


@routes.post("/api/interviews")
async def request_interview(request: web.Request) -> web.Response:
    """Request an interview in a slot; 409 with the clashing bookings when it is taken."""
    change = _change(request)
    data = parse(BookIn, await json_body(request))
    gate = request.app[WRITE_GATE]
    with scheduling_errors():
        checked = await booking_request.check_request(
            gate, data, change, requester=request.get(USER)
        )
        interview = await booking_request.write_request(
            gate, checked, change, request.app[BOOKING_POLICY]
        )
    context = checked.context  # the zones the checks read: no second look-up
    home = context.consulate if change.actor.consulate_id is not None else context.facility
    return await interview_response(request, interview, status=201, home=home.time_zone)


@routes.get("/api/interviews/{interview_id}")
async def get_interview(request: web.Request) -> web.Response:
    """One interview, for those it concerns."""
    actor = signed_in(request)
    interview_id = int_param(request, "interview_id")
    with scheduling_errors():
        async with transaction(request) as session:
            interview = await load_interview(session, actor, interview_id, Action.INTERVIEW_READ)
    return await interview_response(request, interview)


@routes.post("/api/interviews/{interview_id}/confirm")
async def confirm_interview(request: web.Request) -> web.Response:
    """The consul confirms."""
    change = _change(request)
    interview_id = int_param(request, "interview_id")
    with scheduling_errors():
        interview = await booking.confirm(
            request.app[WRITE_GATE], interview_id, change, request.app[BOOKING_POLICY]
        )
    return await interview_response(request, interview)


@routes.post("/api/interviews/{interview_id}/decline")
async def decline_interview(request: web.Request) -> web.Response:
    """The consul declines, saying why."""
    change = _change(request)
    interview_id = int_param(request, "interview_id")
    data = parse(ReasonIn, await json_body(request))
    with scheduling_errors():
        interview = await booking.decline(
            request.app[WRITE_GATE], interview_id, data.reason, change, request.app[BOOKING_POLICY]
        )
    return await interview_response(request, interview)


@routes.post("/api/interviews/{interview_id}/cancel")
async def cancel_interview(request: web.Request) -> web.Response:
    """Staff or the consul cancel, saying why."""
    change = _change(request)
    interview_id = int_param(request, "interview_id")
    data = parse(ReasonIn, await json_body(request))
    with scheduling_errors():
        interview = await booking.cancel(
            request.app[WRITE_GATE], interview_id, data.reason, change, request.app[BOOKING_POLICY]
        )
    await request.app[ROOMS].withdraw(interview_id, "cancelled")
    return await interview_response(request, interview)


@routes.post("/api/interviews/{interview_id}/reschedule")
async def reschedule_interview(request: web.Request) -> web.Response:
    """Move to another slot, saying why."""
    change = _change(request)
    interview_id = int_param(request, "interview_id")
    data = parse(RescheduleIn, await json_body(request))
    with scheduling_errors():
        interview = await booking.reschedule(
            request.app[WRITE_GATE], interview_id, data, change, request.app[BOOKING_POLICY]
        )
    await request.app[ROOMS].withdraw(interview_id, "rescheduled")
    return await interview_response(request, interview)
