"""Week calendars: a facility's, a consulate's or an interpreter's interviews, in the
viewer's time zone (page and JSON)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from interviews.access import Action, Actor, authorize
from interviews.accounts import Role, User
from interviews.consulates import Consulate
from interviews.facilities import Facility
from scheduling.resources import InterpreterProfile
from scheduling.weeks import CalendarKind, Week, week_of
from web.errors import not_found
from web.keys import CLOCK
from web.openapi import error_responses, json_ok
from web.request_tools import signed_in, transaction
from web.routes.scheduling_common import int_param, viewer_zone, week_start
from web.routes.scheduling_pages import STATUS_LABELS
from web.templating import render

routes = web.RouteTableDef()
_KIND = r"{kind:facility|consulate|interpreter}"
_ID = r"{id:\d+}"

OPENAPI = {
    "/api/calendar/{kind}/{id}": {
        "get": {
            "summary": "A week of a facility's, consulate's or interpreter's interviews "
            "(?week=YYYY-MM-DD, ?tz=IANA zone)",
            "responses": {"200": json_ok("The week"), **error_responses(400, 401, 403, 404)},
        }
    }
}

_ACTIONS = {
    CalendarKind.FACILITY: Action.CALENDAR_FACILITY,
    CalendarKind.CONSULATE: Action.CALENDAR_CONSULATE,
    CalendarKind.INTERPRETER: Action.CALENDAR_INTERPRETER,
}


async def _owner(request: web.Request, actor: Actor) -> tuple[CalendarKind, int, str, str]:
    """The calendar asked for, if the caller may see it: (kind, id, name, home zone)."""
    kind = CalendarKind(request.match_info["kind"])
    owner_id = int_param(request, "id")
    authorize(
        actor,
        _ACTIONS[kind],
        facility_id=owner_id if kind is CalendarKind.FACILITY else None,
        consulate_id=owner_id if kind is CalendarKind.CONSULATE else None,
        user_id=owner_id if kind is CalendarKind.INTERPRETER else None,
    )
    async with transaction(request) as session:
        if kind is CalendarKind.FACILITY:
            facility = await session.get(Facility, owner_id)
            if facility is not None:
                return kind, owner_id, facility.name, facility.time_zone
        elif kind is CalendarKind.CONSULATE:
            consulate = await session.get(Consulate, owner_id)
            if consulate is not None:
                return kind, owner_id, consulate.name, consulate.time_zone
        else:
            user = await session.get(User, owner_id)
            profile = await session.get(InterpreterProfile, owner_id)
            if user is not None and user.role == Role.INTERPRETER.value:
                return kind, owner_id, user.name, profile.time_zone if profile else user.time_zone
    raise not_found("No such calendar.")


async def _week(request: web.Request) -> tuple[Week, str]:
    actor = signed_in(request)
    kind, owner_id, name, home = await _owner(request, actor)
    zone_name = viewer_zone(request, actor, home)
    now = request.app[CLOCK]()
    monday = week_start(request, zone_name, now)
    async with transaction(request) as session:
        week = await week_of(
            session, kind, owner_id, monday, zone_name, viewer_id=actor.user_id, now=now
        )
    return week, name


def week_body(week: Week, name: str) -> dict[str, Any]:
    """A week as the API shows it."""
    return {
        "owner": name,
        "week_start": week.monday.isoformat(),
        "time_zone": week.zone,
        "days": [
            {
                "date": day.isoformat(),
                "interviews": [
                    {
                        "id": e.interview_id,
                        "starts_at": e.starts_at.isoformat(),
                        "ends_at": e.ends_at.isoformat(),
                        "status": e.status,
                        "case_reference": e.case_reference,
                        "consulate": e.consulate,
                        "facility": e.facility,
                        "room": e.room,
                        "consul": e.consul,
                        "interpreter": e.interpreter,
                        "language": e.language,
                    }
                    for e in entries
                ],
            }
            for day, entries in week.days
        ],
    }


@routes.get(f"/api/calendar/{_KIND}/{_ID}")
async def calendar_api(request: web.Request) -> web.Response:
    """A week of interviews as JSON."""
    week, name = await _week(request)
    return web.json_response(week_body(week, name))


@routes.get("/calendar")
async def my_calendar(request: web.Request) -> web.StreamResponse:
    """Each role's own week; admins choose."""
    actor = signed_in(request)
    if actor.role is Role.STAFF and actor.facility_id is not None:
        raise web.HTTPSeeOther(f"/calendar/facility/{actor.facility_id}")
    if actor.role is Role.CONSUL and actor.consulate_id is not None:
        raise web.HTTPSeeOther(f"/calendar/consulate/{actor.consulate_id}")
    if actor.role is Role.INTERPRETER:
        raise web.HTTPSeeOther(f"/calendar/interpreter/{actor.user_id}")
    raise web.HTTPSeeOther("/scheduling/availability")


@routes.get(f"/calendar/{_KIND}/{_ID}")
async def calendar_page(request: web.Request) -> web.Response:
    """A week of interviews, Monday to Sunday, in the viewer's zone."""
    week, name = await _week(request)
    return render(
        "scheduling/calendar.html",
        request,
        {"week": week, "name": name, "status_labels": STATUS_LABELS, "base": request.path},
    )
