"""What scheduling's API and pages share: error mapping, time zone and week parameters,
slot and interview views (and the API's interview response), and the plain-language
reasons no slot exists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from interviews import codes
from interviews.access import Actor
from interviews.accounts import Role
from interviews.case_access import CaseNotFound
from interviews.case_status import TransitionRefused
from interviews.consulates import Consulate
from interviews.facilities import Facility
from scheduling import zones
from scheduling.appointments import Interview
from scheduling.availability import AvailabilityError
from scheduling.booking_rules import BookingError, InterviewNotFound
from scheduling.search import SearchContext
from scheduling.shortfalls import SHORTFALL_PROBLEMS, record_shortfall
from scheduling.slots import Problem, SearchResult, Slot
from web.errors import ApiError, invalid, not_found
from web.keys import CLOCK, JOB_SCHEDULER, SESSIONMAKER, USER
from web.request_tools import signed_in, transaction


async def note_shortfall(
    request: web.Request, context: SearchContext, result: SearchResult
) -> None:
    """Keep a search that found no interpreter for the statistics (interpreter shortfall)."""
    if result.slots or not any(p.code in SHORTFALL_PROBLEMS for p in result.problems):
        return
    async with transaction(request) as session:
        await record_shortfall(
            session,
            result,
            case_id=context.case.id,
            facility_id=context.facility.id,
            now=request.app[CLOCK](),
        )


@contextmanager
def scheduling_errors() -> Iterator[None]:
    """Turn scheduling's refusals into API errors (400/404/409)."""
    try:
        yield
    except (CaseNotFound, InterviewNotFound):
        raise not_found("No such case or interview.") from None
    except BookingError as error:
        details = error.details
        if details is None and error.field:
            details = [{"field": error.field, "message": error.message}]
        raise ApiError(error.status, error.code, error.message, details) from None
    except AvailabilityError as error:
        code = (
            "invalid"
            if error.status == 400
            else ("not_found" if error.status == 404 else "conflict")
        )
        raise ApiError(
            error.status, code, str(error), [{"field": error.field, "message": str(error)}]
        ) from None
    except TransitionRefused as error:
        raise ApiError(409, "conflict", str(error), {"allowed": error.allowed}) from None


def int_param(request: web.Request, name: str) -> int:
    """A path parameter as an int, or 404 (a non-number names nothing)."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise not_found() from None


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], or 400 naming it."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid([{"field": name, "message": "must be a whole number"}]) from None
    if not low <= value <= high:
        raise invalid([{"field": name, "message": f"must be between {low} and {high}"}])
    return value


def viewer_zone(request: web.Request, actor: Actor, fallback: str = "UTC") -> str:
    """The zone to show times in: ?tz=, else the account's zone, else `fallback`; bad → 400."""
    raw = request.query.get("tz")
    if raw:
        try:
            return codes.time_zone(raw)
        except codes.CodeError as error:
            raise invalid([{"field": "tz", "message": str(error)}]) from None
    user = request.get(USER)
    if user is not None and user.time_zone and user.time_zone != "UTC":
        return str(user.time_zone)
    return fallback


def week_start(request: web.Request, zone_name: str, now: datetime) -> date:
    """The Monday of ?week=YYYY-MM-DD (any day of that week), else of this week; bad → 400."""
    raw = request.query.get("week")
    if raw:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise invalid([{"field": "week", "message": "use a date, YYYY-MM-DD"}]) from None
    else:
        day = zones.local_date(zone_name, zones.to_minute(now))
    return day - timedelta(days=day.weekday())


def local_iso(moment: datetime, zone_name: str) -> str:
    """An aware time in a zone, ISO 8601 with its offset."""
    return moment.astimezone(zones.zone(zone_name)).isoformat()


def slot_view(slot: Slot, context: SearchContext, viewer: str) -> dict[str, Any]:
    """A slot with its people and room, and its time in the viewer's and each party's zone."""
    starts_at, ends_at = zones.from_minute(slot.start), zones.from_minute(slot.end)
    interpreter = context.interpreters.get(slot.interpreter_id) if slot.interpreter_id else None
    local = {
        "viewer": local_iso(starts_at, viewer),
        "consulate": local_iso(starts_at, context.consulate.time_zone),
        "facility": local_iso(starts_at, context.facility.time_zone),
    }
    if interpreter is not None:
        local["interpreter"] = local_iso(starts_at, interpreter.time_zone)
    return {
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "priority_hold": slot.priority_hold,
        "consul": {"id": slot.consul_id, "name": context.consuls[slot.consul_id].name},
        "interpreter": {
            "id": interpreter.id,
            "name": interpreter.name,
            "language": interpreter.spoken,
            "proficiency": interpreter.proficiency,
            "time_zone": interpreter.time_zone,
        }
        if interpreter
        else None,
        "room": {"id": slot.room_id, "name": context.rooms[slot.room_id].name},
        "local": local,
    }


def problem_text(
    problem: Problem, context: SearchContext, gettext: Callable[[str], str], language: str
) -> str:
    """A plain sentence saying what is missing."""
    _ = gettext
    names = ", ".join(codes.language_name(code, language) for code in context.case.languages)
    texts = {
        "deadline_passed": _("The case's deadline has passed: no interview can be booked."),
        "deadline_too_close": _(
            "The deadline is too close: the consulate needs more notice than the time left."
        ),
        "consulate_closed": _(
            "The consulate has no interview hours before the deadline (closed, on holiday, "
            "or no hours set)."
        ),
        "no_consul": _("The consulate has no consul account to hold interviews."),
        "consuls_busy": _("Every consul of the consulate is booked whenever it is open."),
        "no_interpreter": _("No interpreter for %(languages)s is registered.")
        % {"languages": names or _("the person's language (none recorded)")},
        "interpreters_unavailable": _(
            "The interpreters for %(languages)s have no free time before the deadline."
        )
        % {"languages": names},
        "no_room": _("The facility has no video room in use."),
        "rooms_unavailable": _("Every video room of the facility is booked or closed."),
        "no_common_time": _(
            "The consulate, an interpreter and a room are each free at times, but never "
            "at the same time before the deadline."
        ),
    }
    return texts.get(problem.code, problem.code)


def search_view(
    result: SearchResult,
    context: SearchContext,
    viewer: str,
    gettext: Callable[[str], str],
    language: str,
) -> dict[str, Any]:
    """The API body of a slot search."""
    return {
        "case_id": context.case.id,
        "consulate": {
            "id": context.consulate.id,
            "name": context.consulate.name,
            "time_zone": context.consulate.time_zone,
        },
        "facility": {
            "id": context.facility.id,
            "name": context.facility.name,
            "time_zone": context.facility.time_zone,
        },
        "viewer_time_zone": viewer,
        "interview_minutes": context.settings.interview_minutes,
        "needs_interpreter": context.needs_interpreter,
        "languages": context.case.languages,
        "priority": context.request.priority,
        "window": {
            "from": zones.from_minute(result.window[0]).isoformat(),
            "until": zones.from_minute(result.window[1]).isoformat(),
        },
        "slots": [slot_view(slot, context, viewer) for slot in result.slots],
        "problems": [
            {
                "code": p.code,
                "message": problem_text(p, context, gettext, language),
                "params": p.params,
            }
            for p in result.problems
        ],
    }


def interview_view(interview: Interview, actor: Actor, viewer: str) -> dict[str, Any]:
    """An interview as the API shows it (participants' e-mail only to staff and admins)."""
    show_contacts = actor.role in (Role.ADMIN, Role.STAFF)
    return {
        "id": interview.id,
        "uid": interview.uid,
        "case_id": interview.case_id,
        "consulate_id": interview.consulate_id,
        "facility_id": interview.facility_id,
        "consul_id": interview.consul_id,
        "interpreter_id": interview.interpreter_id,
        "language": interview.language,
        "room_id": interview.room_id,
        "status": interview.status,
        "priority_hold": interview.priority_hold,
        "sequence": interview.sequence,
        "starts_at": interview.starts_at.isoformat(),
        "ends_at": interview.ends_at.isoformat(),
        "busy_until": interview.busy_until.isoformat(),
        "local_starts_at": local_iso(interview.starts_at, viewer),
        "viewer_time_zone": viewer,
        "reason": interview.reason,
        "requested_at": interview.requested_at.isoformat(),
        "decided_at": interview.decided_at.isoformat() if interview.decided_at else None,
        "participants": [
            {
                "id": p.id,
                "role": p.role,
                "name": p.name,
                "time_zone": p.time_zone,
                **({"email": p.email} if show_contacts else {}),
            }
            for p in interview.current_participants()
        ],
    }


async def interview_response(
    request: web.Request, interview: Interview, status: int = 200, *, home: str | None = None
) -> web.Response:
    """The interview in the caller's zone (their own, else their consulate's or the facility's).

    `home` is that organisation's zone when the handler already has it; otherwise it is
    read, and only when the caller has no zone of their own.
    """
    request.app[JOB_SCHEDULER].wake()  # send the change's notices now, not at the next beat
    actor = signed_in(request)
    viewer = viewer_zone(request, actor, "")
    if not viewer:
        viewer = home or await _home_zone(request, actor, interview)
    return web.json_response(interview_view(interview, actor, viewer), status=status)


async def _home_zone(request: web.Request, actor: Actor, interview: Interview) -> str:
    if actor.consulate_id is not None:
        query = select(Consulate.time_zone).where(Consulate.id == actor.consulate_id)
    else:
        query = select(Facility.time_zone).where(Facility.id == interview.facility_id)
    async with request.app[SESSIONMAKER]() as session:  # one read, no transaction
        return await session.scalar(query) or "UTC"
