"""Editing availability: consulate interview hours, interpreter profiles and video rooms.

Each owner's windows and exceptions are replaced as a whole (what the edit form shows is
what is stored), validated here, and every change is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Actor
from interviews.accounts import Role, User
from interviews.audit import changes, record
from scheduling.availability_input import (
    ConsulateHoursIn,
    ExceptionIn,
    InterpreterProfileIn,
    RoomIn,
    WindowIn,
    format_clock,
    parse_clock,
)
from scheduling.resources import (
    AvailabilityException,
    AvailabilityWindow,
    ConsulateSchedule,
    InterpreterLanguage,
    InterpreterProfile,
    OwnerKind,
    VideoRoom,
)
from scheduling.slots import DayException, Schedule, Weekly


class AvailabilityError(ValueError):
    """An edit that cannot be made; `field` names the input at fault."""

    def __init__(self, field: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


# -- stored rows ⇄ plain data ------------------------------------------------------------


async def _replace(
    session: AsyncSession,
    kind: OwnerKind,
    owner_id: int,
    windows: Sequence[WindowIn],
    exceptions: Sequence[ExceptionIn],
) -> None:
    await _delete_owner(session, kind, owner_id)
    for window in windows:
        session.add(
            AvailabilityWindow(
                owner_kind=kind.value,
                owner_id=owner_id,
                weekday=window.weekday,
                start_minute=parse_clock(window.start),
                end_minute=parse_clock(window.end),
                priority_only=window.priority_only and kind is OwnerKind.CONSULATE,
            )
        )
    for item in exceptions:
        session.add(
            AvailabilityException(
                owner_kind=kind.value,
                owner_id=owner_id,
                day=item.day,
                start_minute=parse_clock(item.start) if item.start else None,
                end_minute=parse_clock(item.end) if item.end else None,
                available=item.available,
                reason=item.reason,
            )
        )
    await session.flush()


async def _delete_owner(session: AsyncSession, kind: OwnerKind, owner_id: int) -> None:
    for table in (AvailabilityWindow, AvailabilityException):
        await session.execute(
            delete(table).where(table.owner_kind == kind.value, table.owner_id == owner_id)
        )


async def _rows(
    session: AsyncSession, kind: OwnerKind, owner_id: int
) -> tuple[list[AvailabilityWindow], list[AvailabilityException]]:
    windows = await session.scalars(
        select(AvailabilityWindow)
        .where(AvailabilityWindow.owner_kind == kind.value, AvailabilityWindow.owner_id == owner_id)
        .order_by(
            AvailabilityWindow.weekday, AvailabilityWindow.start_minute, AvailabilityWindow.id
        )
    )
    exceptions = await session.scalars(
        select(AvailabilityException)
        .where(
            AvailabilityException.owner_kind == kind.value,
            AvailabilityException.owner_id == owner_id,
        )
        .order_by(AvailabilityException.day, AvailabilityException.id)
    )
    return list(windows.all()), list(exceptions.all())


def window_dict(row: AvailabilityWindow) -> dict[str, Any]:
    """A window as the API shows it."""
    return {
        "weekday": row.weekday,
        "start": format_clock(row.start_minute),
        "end": format_clock(row.end_minute),
        "priority_only": row.priority_only,
    }


def exception_dict(row: AvailabilityException) -> dict[str, Any]:
    """An exception as the API shows it."""
    return {
        "day": row.day.isoformat(),
        "start": format_clock(row.start_minute) if row.start_minute is not None else None,
        "end": format_clock(row.end_minute) if row.end_minute is not None else None,
        "available": row.available,
        "reason": row.reason,
    }


def schedule_of(
    zone_name: str,
    windows: Sequence[AvailabilityWindow],
    exceptions: Sequence[AvailabilityException],
) -> Schedule:
    """Stored rows as the slot engine's Schedule."""
    return Schedule(
        zone_name,
        tuple(Weekly(w.weekday, w.start_minute, w.end_minute, w.priority_only) for w in windows),
        tuple(DayException(e.day, e.start_minute, e.end_minute, e.available) for e in exceptions),
    )


# -- consulates ----------------------------------------------------------------------------


async def consulate_settings(session: AsyncSession, consulate_id: int) -> ConsulateSchedule:
    """The consulate's interview settings (defaults when never set)."""
    found = await session.get(ConsulateSchedule, consulate_id)
    if found is not None:
        return found
    return ConsulateSchedule(
        consulate_id=consulate_id,
        interview_minutes=60,
        buffer_minutes=15,
        step_minutes=30,
        notice_minutes=120,
    )


async def consulate_hours(session: AsyncSession, consulate_id: int) -> dict[str, Any]:
    """A consulate's settings, windows and exceptions as the API shows them."""
    settings = await consulate_settings(session, consulate_id)
    windows, exceptions = await _rows(session, OwnerKind.CONSULATE, consulate_id)
    return {
        "consulate_id": consulate_id,
        "interview_minutes": settings.interview_minutes,
        "buffer_minutes": settings.buffer_minutes,
        "step_minutes": settings.step_minutes,
        "notice_minutes": settings.notice_minutes,
        "windows": [window_dict(w) for w in windows],
        "exceptions": [exception_dict(e) for e in exceptions],
    }


async def set_consulate_hours(
    session: AsyncSession,
    consulate_id: int,
    data: ConsulateHoursIn,
    *,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> dict[str, Any]:
    """Replace a consulate's interview settings and hours; audited."""
    before = await consulate_hours(session, consulate_id)
    row = await session.get(ConsulateSchedule, consulate_id)
    if row is None:
        row = ConsulateSchedule(consulate_id=consulate_id)
        session.add(row)
    row.interview_minutes = data.interview_minutes
    row.buffer_minutes = data.buffer_minutes
    row.step_minutes = data.step_minutes
    row.notice_minutes = data.notice_minutes
    await _replace(session, OwnerKind.CONSULATE, consulate_id, data.windows, data.exceptions)
    after = await consulate_hours(session, consulate_id)
    await _audit(
        session, "schedule.consulate", "consulate", consulate_id, before, after, actor, now, remote
    )
    return after


# -- interpreters -------------------------------------------------------------------------


async def interpreter_profile(session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    """An interpreter's profile as the API shows it, or None when none was set up."""
    profile = await session.get(InterpreterProfile, user_id)
    if profile is None:
        return None
    windows, exceptions = await _rows(session, OwnerKind.INTERPRETER, user_id)
    return {
        "user_id": user_id,
        "time_zone": profile.time_zone,
        "max_per_day": profile.max_per_day,
        "active": profile.active,
        "languages": [
            {"language": row.language, "proficiency": row.proficiency}
            for row in profile.language_rows
        ],
        "windows": [window_dict(w) for w in windows],
        "exceptions": [exception_dict(e) for e in exceptions],
    }


async def set_interpreter_profile(
    session: AsyncSession,
    user_id: int,
    data: InterpreterProfileIn,
    *,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> dict[str, Any]:
    """Create or replace an interpreter's profile; audited."""
    user = await session.get(User, user_id)
    if user is None or user.role != Role.INTERPRETER.value:
        raise AvailabilityError("user_id", "no interpreter with this id", status=404)
    before = await interpreter_profile(session, user_id) or {}
    profile = await session.get(InterpreterProfile, user_id)
    if profile is None:
        profile = InterpreterProfile(user_id=user_id, time_zone=data.time_zone)
        session.add(profile)
    profile.time_zone = data.time_zone
    profile.max_per_day = data.max_per_day
    profile.active = data.active
    profile.language_rows = [
        InterpreterLanguage(language=item.language, proficiency=item.proficiency.value)
        for item in data.languages
    ]
    await session.flush()
    await _replace(session, OwnerKind.INTERPRETER, user_id, data.windows, data.exceptions)
    after = await interpreter_profile(session, user_id) or {}
    await _audit(
        session, "schedule.interpreter", "user", user_id, before, after, actor, now, remote
    )
    return after


# -- rooms --------------------------------------------------------------------------------


async def facility_rooms(session: AsyncSession, facility_id: int) -> list[VideoRoom]:
    """A facility's video rooms by name."""
    rows = await session.scalars(
        select(VideoRoom).where(VideoRoom.facility_id == facility_id).order_by(VideoRoom.name)
    )
    return list(rows.all())


async def room_dict(session: AsyncSession, room: VideoRoom) -> dict[str, Any]:
    """A room with its hours as the API shows it."""
    windows, exceptions = await _rows(session, OwnerKind.ROOM, room.id)
    return {
        "id": room.id,
        "facility_id": room.facility_id,
        "name": room.name,
        "active": room.active,
        "windows": [window_dict(w) for w in windows],
        "exceptions": [exception_dict(e) for e in exceptions],
    }


async def save_room(
    session: AsyncSession,
    facility_id: int,
    data: RoomIn,
    *,
    room: VideoRoom | None,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> dict[str, Any]:
    """Add a room to a facility, or replace an existing room's name, state and hours; audited."""
    clash = await session.scalar(
        select(VideoRoom.id).where(
            VideoRoom.facility_id == facility_id,
            VideoRoom.name == data.name,
            VideoRoom.id != (room.id if room else -1),
        )
    )
    if clash is not None:
        raise AvailabilityError(
            "name", "this facility already has a room with that name", status=409
        )
    before = await room_dict(session, room) if room else {}
    if room is None:
        room = VideoRoom(facility_id=facility_id, name=data.name, active=data.active)
        session.add(room)
    room.name = data.name
    room.active = data.active
    await session.flush()
    await _replace(session, OwnerKind.ROOM, room.id, data.windows, data.exceptions)
    after = await room_dict(session, room)
    await _audit(session, "schedule.room", "room", room.id, before, after, actor, now, remote)
    return after


async def _audit(
    session: AsyncSession,
    action: str,
    target_type: str,
    target_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    actor: Actor,
    now: datetime,
    remote: str,
) -> None:
    await record(
        session,
        action,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        remote=remote,
        details={"changes": changes(before, after)},
        now=now,
    )
