"""Availability forms: a consulate's interview hours, an interpreter's profile, a facility's
video rooms. Each form shows the week as one line per weekday ("09:00-13:00, 14:00-17:00")
and dated exceptions one per line ("2026-12-25 closed Christmas"); a refused save shows
what was typed with the reason, and stores nothing.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from interviews import codes
from interviews.access import Action, authorize
from interviews.accounts import Role, User
from interviews.consulates import Consulate
from interviews.facilities import Facility, list_facilities
from scheduling import availability, availability_input
from scheduling.availability import AvailabilityError
from scheduling.resources import VideoRoom
from web.errors import not_found
from web.keys import CLOCK, WRITE_GATE
from web.request_tools import remote, signed_in, transaction
from web.routes.scheduling_common import int_param
from web.routes.scheduling_form_text import (
    WEEKDAYS,
    FormProblem,
    form_state,
    languages_text,
    read_exceptions,
    read_languages,
    read_windows,
    saved_state,
    validate,
)
from web.templating import render

routes = web.RouteTableDef()
_ID = r"{id:\d+}"


def _page(
    request: web.Request,
    *,
    kind: str,
    title: str,
    action: str,
    state: dict[str, Any],
    body: dict[str, Any],
    error: FormProblem | None = None,
    saved: bool = False,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    return render(
        "scheduling/availability.html",
        request,
        {
            "kind": kind,
            "title": title,
            "action": action,
            "state": state,
            "body": body,
            "weekdays": WEEKDAYS,
            "error": str(error) if error else "",
            "error_field": error.field if error else "",
            "saved": saved,
            **(extra or {}),
        },
        status=400 if error else 200,
    )


# -- where each person edits their own ----------------------------------------------------


@routes.get("/scheduling/availability")
async def my_availability(request: web.Request) -> web.StreamResponse:
    """Send each role to the availability it keeps; admins get a list."""
    actor = signed_in(request)
    if actor.role is Role.CONSUL and actor.consulate_id is not None:
        raise web.HTTPSeeOther(f"/scheduling/consulates/{actor.consulate_id}/hours")
    if actor.role is Role.STAFF and actor.facility_id is not None:
        raise web.HTTPSeeOther(f"/scheduling/facilities/{actor.facility_id}/rooms")
    if actor.role is Role.INTERPRETER:
        raise web.HTTPSeeOther(f"/scheduling/interpreters/{actor.user_id}")
    authorize(actor, Action.SCHEDULE_CONSULATE)
    async with transaction(request) as session:
        consulates = (await session.scalars(select(Consulate).order_by(Consulate.name))).all()
        interpreters = (
            await session.scalars(
                select(User).where(User.role == Role.INTERPRETER.value).order_by(User.name)
            )
        ).all()
        facilities = await list_facilities(session)
    return render(
        "scheduling/availability_index.html",
        request,
        {"consulates": consulates, "interpreters": interpreters, "facilities": facilities},
    )


# -- consulates -----------------------------------------------------------------------------


async def _consulate(request: web.Request) -> Consulate:
    consulate_id = int_param(request, "id")
    authorize(signed_in(request), Action.SCHEDULE_CONSULATE, consulate_id=consulate_id)
    async with transaction(request) as session:
        consulate = await session.get(Consulate, consulate_id)
    if consulate is None:
        raise not_found("No such consulate.")
    return consulate


@routes.get(f"/scheduling/consulates/{_ID}/hours")
async def consulate_hours_form(request: web.Request) -> web.Response:
    """A consulate's interview settings and hours, to edit."""
    consulate = await _consulate(request)
    async with transaction(request) as session:
        body = await availability.consulate_hours(session, consulate.id)
    return _page(
        request,
        kind="consulate",
        title=consulate.name,
        action=request.path,
        state=saved_state(body),
        body=body,
        saved="saved" in request.query,
        extra={"zone": consulate.time_zone},
    )


@routes.post(f"/scheduling/consulates/{_ID}/hours")
async def save_consulate_hours(request: web.Request) -> web.StreamResponse:
    """Save a consulate's interview settings and hours."""
    consulate = await _consulate(request)
    form = await request.post()
    try:
        data = validate(
            availability_input.ConsulateHoursIn,
            {
                **{
                    key: form.get(key)
                    for key in (
                        "interview_minutes",
                        "buffer_minutes",
                        "step_minutes",
                        "notice_minutes",
                    )
                },
                "windows": read_windows(form, "day", priority=False)
                + read_windows(form, "held", priority=True),
                "exceptions": read_exceptions(str(form.get("exceptions", ""))),
            },
        )
    except FormProblem as problem:
        return _page(
            request,
            kind="consulate",
            title=consulate.name,
            action=request.path,
            state=form_state(form),
            body={key: form.get(key) for key in form},
            error=problem,
            extra={"zone": consulate.time_zone},
        )
    async with request.app[WRITE_GATE].transaction() as session:
        await availability.set_consulate_hours(
            session,
            consulate.id,
            data,
            actor=signed_in(request),
            now=request.app[CLOCK](),
            remote=remote(request),
        )
    raise web.HTTPSeeOther(f"{request.path}?saved=1")


# -- interpreters ---------------------------------------------------------------------------


async def _interpreter(request: web.Request) -> User:
    user_id = int_param(request, "id")
    authorize(signed_in(request), Action.SCHEDULE_INTERPRETER, user_id=user_id)
    async with transaction(request) as session:
        user = await session.get(User, user_id)
    if user is None or user.role != Role.INTERPRETER.value:
        raise not_found("No such interpreter.")
    return user


@routes.get(f"/scheduling/interpreters/{_ID}")
async def interpreter_form(request: web.Request) -> web.Response:
    """An interpreter's languages, zone, hours, exceptions and daily maximum, to edit."""
    user = await _interpreter(request)
    async with transaction(request) as session:
        body = await availability.interpreter_profile(session, user.id) or {
            "time_zone": user.time_zone,
            "max_per_day": 4,
            "active": True,
            "languages": [],
            "windows": [],
            "exceptions": [],
        }
    state = saved_state(body)
    state["values"] = {
        "time_zone": body["time_zone"],
        "max_per_day": str(body["max_per_day"]),
        "active": "on" if body["active"] else "",
        "languages": languages_text(body),
    }
    return _page(
        request,
        kind="interpreter",
        title=user.name,
        action=request.path,
        state=state,
        body=body,
        saved="saved" in request.query,
        extra={"zone": body["time_zone"], "zones": codes.time_zone_choices()},
    )


@routes.post(f"/scheduling/interpreters/{_ID}")
async def save_interpreter(request: web.Request) -> web.StreamResponse:
    """Save an interpreter's profile."""
    user = await _interpreter(request)
    form = await request.post()
    try:
        data = validate(
            availability_input.InterpreterProfileIn,
            {
                "time_zone": str(form.get("time_zone", "")),
                "max_per_day": form.get("max_per_day"),
                "active": form.get("active") == "on",
                "languages": read_languages(str(form.get("languages", ""))),
                "windows": read_windows(form, "day", priority=False),
                "exceptions": read_exceptions(str(form.get("exceptions", ""))),
            },
        )
        async with request.app[WRITE_GATE].transaction() as session:
            await availability.set_interpreter_profile(
                session,
                user.id,
                data,
                actor=signed_in(request),
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    except (FormProblem, AvailabilityError) as problem:
        error = (
            problem
            if isinstance(problem, FormProblem)
            else FormProblem(problem.field, str(problem))
        )
        return _page(
            request,
            kind="interpreter",
            title=user.name,
            action=request.path,
            state=form_state(form),
            body={},
            error=error,
            extra={"zone": str(form.get("time_zone", "")), "zones": codes.time_zone_choices()},
        )
    raise web.HTTPSeeOther(f"{request.path}?saved=1")


# -- rooms ----------------------------------------------------------------------------------


async def _facility(request: web.Request) -> Facility:
    facility_id = int_param(request, "id")
    authorize(signed_in(request), Action.SCHEDULE_ROOMS, facility_id=facility_id)
    async with transaction(request) as session:
        facility = await session.get(Facility, facility_id)
    if facility is None:
        raise not_found("No such facility.")
    return facility


@routes.get(f"/scheduling/facilities/{_ID}/rooms")
async def rooms_page(request: web.Request) -> web.Response:
    """A facility's video rooms, and a form to add one."""
    facility = await _facility(request)
    async with transaction(request) as session:
        rooms = await availability.facility_rooms(session, facility.id)
    return render(
        "scheduling/rooms.html",
        request,
        {"facility": facility, "rooms": rooms, "error": "", "name": ""},
    )


@routes.post(f"/scheduling/facilities/{_ID}/rooms")
async def add_room(request: web.Request) -> web.StreamResponse:
    """Add a room (open 08:00-18:00 on weekdays until its hours are edited)."""
    facility = await _facility(request)
    form = await request.post()
    name = str(form.get("name", ""))
    try:
        data = validate(
            availability_input.RoomIn,
            {
                "name": name,
                "windows": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(5)],
            },
        )
        async with request.app[WRITE_GATE].transaction() as session:
            room = await availability.save_room(
                session,
                facility.id,
                data,
                room=None,
                actor=signed_in(request),
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    except (FormProblem, AvailabilityError) as problem:
        async with transaction(request) as session:
            rooms = await availability.facility_rooms(session, facility.id)
        return render(
            "scheduling/rooms.html",
            request,
            {"facility": facility, "rooms": rooms, "error": str(problem), "name": name},
            status=409 if isinstance(problem, AvailabilityError) and problem.status == 409 else 400,
        )
    raise web.HTTPSeeOther(f"/scheduling/rooms/{room['id']}")


async def _room(request: web.Request) -> tuple[VideoRoom, Facility]:
    room_id = int_param(request, "id")
    actor = signed_in(request)
    authorize(actor, Action.SCHEDULE_ROOMS)
    async with transaction(request) as session:
        room = await session.get(VideoRoom, room_id)
        facility = await session.get(Facility, room.facility_id) if room else None
    if room is None or facility is None:
        raise not_found("No such room.")
    authorize(actor, Action.SCHEDULE_ROOMS, facility_id=room.facility_id)
    return room, facility


@routes.get(f"/scheduling/rooms/{_ID}")
async def room_form(request: web.Request) -> web.Response:
    """A room's name, state and hours, to edit."""
    room, facility = await _room(request)
    async with transaction(request) as session:
        body = await availability.room_dict(session, room)
    state = saved_state(body)
    state["values"] = {"name": room.name, "active": "on" if room.active else ""}
    return _page(
        request,
        kind="room",
        title=f"{facility.name} · {room.name}",
        action=request.path,
        state=state,
        body=body,
        saved="saved" in request.query,
        extra={"zone": facility.time_zone, "facility": facility},
    )


@routes.post(f"/scheduling/rooms/{_ID}")
async def save_room(request: web.Request) -> web.StreamResponse:
    """Save a room's name, state and hours."""
    room, facility = await _room(request)
    form = await request.post()
    try:
        data = validate(
            availability_input.RoomIn,
            {
                "name": str(form.get("name", "")),
                "active": form.get("active") == "on",
                "windows": read_windows(form, "day", priority=False),
                "exceptions": read_exceptions(str(form.get("exceptions", ""))),
            },
        )
        async with request.app[WRITE_GATE].transaction() as session:
            current = await session.get(VideoRoom, room.id)
            await availability.save_room(
                session,
                facility.id,
                data,
                room=current,
                actor=signed_in(request),
                now=request.app[CLOCK](),
                remote=remote(request),
            )
    except (FormProblem, AvailabilityError) as problem:
        error = (
            problem
            if isinstance(problem, FormProblem)
            else FormProblem(problem.field, str(problem))
        )
        return _page(
            request,
            kind="room",
            title=f"{facility.name} · {room.name}",
            action=request.path,
            state=form_state(form),
            body={},
            error=error,
            extra={"zone": facility.time_zone, "facility": facility},
        )
    raise web.HTTPSeeOther(f"{request.path}?saved=1")
