"""A week of interviews for a facility, a consulate or an interpreter, in the viewer's zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from interviews.accounts import User
from interviews.cases import Case
from interviews.consulates import Consulate
from interviews.facilities import Facility
from scheduling import zones
from scheduling.appointments import Interview, InterviewStatus
from scheduling.joining import joinable
from scheduling.resources import VideoRoom

SHOWN = (
    InterviewStatus.REQUESTED.value,
    InterviewStatus.CONFIRMED.value,
    InterviewStatus.NO_SHOW.value,
)


class CalendarKind(StrEnum):
    """Whose week it is."""

    FACILITY = "facility"
    CONSULATE = "consulate"
    INTERPRETER = "interpreter"


@dataclass(frozen=True)
class WeekEntry:
    """One interview in a week view."""

    interview_id: int
    starts_at: datetime  # in the viewer's zone
    ends_at: datetime
    status: str
    case_reference: str
    consulate: str
    facility: str
    room: str
    consul: str
    interpreter: str | None
    language: str | None
    can_join: bool = False  # the viewer is on it and may go into its live session now


@dataclass
class Week:
    """Seven local days from Monday, each with its interviews in start order."""

    monday: date
    zone: str
    days: list[tuple[date, list[WeekEntry]]] = field(default_factory=list)

    @property
    def previous(self) -> date:
        """The Monday before."""
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        """The Monday after."""
        return self.monday + timedelta(days=7)

    @property
    def count(self) -> int:
        """How many interviews the week holds."""
        return sum(len(entries) for _, entries in self.days)


async def week_of(
    session: AsyncSession,
    kind: CalendarKind,
    owner_id: int,
    monday: date,
    zone_name: str,
    *,
    viewer_id: int,
    now: datetime,
) -> Week:
    """The requested, confirmed and missed interviews of one owner in a local week, each
    saying whether the viewer can join its live session now."""
    low = zones.local_span(zone_name, monday, None, None)[0]
    high = zones.local_span(zone_name, monday + timedelta(days=7), None, None)[0]
    consul = aliased(User)
    interpreter = aliased(User)
    owner_column = {
        CalendarKind.FACILITY: Interview.facility_id,
        CalendarKind.CONSULATE: Interview.consulate_id,
        CalendarKind.INTERPRETER: Interview.interpreter_id,
    }[kind]
    rows = await session.execute(
        select(
            Interview,
            Case.reference,
            Consulate.name,
            Facility.name,
            VideoRoom.name,
            consul.name,
            interpreter.name,
        )
        .join(Case, Case.id == Interview.case_id)
        .join(Consulate, Consulate.id == Interview.consulate_id)
        .join(Facility, Facility.id == Interview.facility_id)
        .join(VideoRoom, VideoRoom.id == Interview.room_id)
        .join(consul, consul.id == Interview.consul_id)
        .outerjoin(interpreter, interpreter.id == Interview.interpreter_id)
        .where(
            owner_column == owner_id,
            Interview.starts_at >= zones.from_minute(low),
            Interview.starts_at < zones.from_minute(high),
            Interview.status.in_(SHOWN),
        )
        .order_by(Interview.starts_at, Interview.id)
    )
    local_zone = zones.zone(zone_name)
    by_day: dict[date, list[WeekEntry]] = {monday + timedelta(days=n): [] for n in range(7)}
    for row, reference, consulate, facility, room, consul_name, interpreter_name in rows.all():
        starts = row.starts_at.astimezone(local_zone)
        entry = WeekEntry(
            interview_id=row.id,
            starts_at=starts,
            ends_at=row.ends_at.astimezone(local_zone),
            status=row.status,
            case_reference=reference,
            consulate=consulate,
            facility=facility,
            room=room,
            consul=consul_name,
            interpreter=interpreter_name,
            language=row.language,
            can_join=joinable(row, viewer_id, now),
        )
        by_day.setdefault(starts.date(), []).append(entry)
    return Week(monday, zone_name, sorted(by_day.items()))
