"""The work queue: which cases need action first.

Unaccompanied minors first, then minors, then by days left to the legal deadline. Pages
are cut by keyset on (queue_priority, deadline, id), the columns of index ix_cases_queue,
so page 400 costs what page 1 costs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.cases import ACTIVE_STATUSES, Case, CaseLanguage, CaseStatus
from interviews.facilities import Facility

MAX_PAGE = 200
_CURSOR = re.compile(r"^([0-2])\.(\d{4}-\d{2}-\d{2})\.(\d{1,12})$")


class BadCursor(ValueError):
    """A page cursor that this module did not make."""


@dataclass(frozen=True)
class QueueFilter:
    """What the queue is narrowed to; no statuses means every active (not closed) case."""

    statuses: frozenset[CaseStatus] = frozenset()
    nationality: str | None = None
    language: str | None = None
    facility_id: int | None = None

    def status_values(self) -> list[str]:
        """The statuses to show, as stored."""
        return sorted(status.value for status in (self.statuses or ACTIVE_STATUSES))


@dataclass(frozen=True)
class QueueItem:
    """A case in the queue with its urgency worked out."""

    case: Case
    days_left: int
    near_days: int

    @property
    def overdue(self) -> bool:
        """The legal deadline has passed."""
        return self.days_left < 0

    @property
    def near_deadline(self) -> bool:
        """The deadline is within the near-deadline window (and not yet passed)."""
        return 0 <= self.days_left <= self.near_days

    @property
    def urgency(self) -> str:
        """overdue, near or ok (for labels and styles; shown as words, not only colour)."""
        if self.overdue:
            return "overdue"
        return "near" if self.near_deadline else "ok"


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and the cursor of the next one (None at the end)."""

    items: list[QueueItem] = field(default_factory=list)
    next_cursor: str | None = None


def encode_cursor(case: Case) -> str:
    """The cursor that resumes the queue right after `case`."""
    return f"{case.queue_priority}.{case.deadline.isoformat()}.{case.id}"


def decode_cursor(cursor: str) -> tuple[int, date, int]:
    """The keyset position in a cursor, or BadCursor."""
    found = _CURSOR.match(cursor)
    if found is None:
        raise BadCursor(cursor)
    try:
        day = date.fromisoformat(found.group(2))
    except ValueError:
        raise BadCursor(cursor) from None
    return int(found.group(1)), day, int(found.group(3))


def _conditions(scope: ColumnElement[bool], filters: QueueFilter) -> list[ColumnElement[bool]]:
    conditions = [scope, Case.status.in_(filters.status_values())]
    if filters.facility_id is not None:
        conditions.append(Case.facility_id == filters.facility_id)
    if filters.nationality:
        conditions.append(Case.claimed_nationality == filters.nationality)
    if filters.language:
        conditions.append(
            exists(
                select(CaseLanguage.case_id).where(
                    CaseLanguage.case_id == Case.id, CaseLanguage.language == filters.language
                )
            )
        )
    return conditions


async def work_queue(
    session: AsyncSession,
    scope: ColumnElement[bool],
    *,
    now: datetime,
    near_days: int,
    filters: QueueFilter | None = None,
    after: str | None = None,
    limit: int = 50,
) -> QueuePage:
    """One page of cases in `scope` (see `case_access.visible_cases`), most urgent first."""
    filters = filters or QueueFilter()
    limit = max(1, min(limit, MAX_PAGE))
    conditions = _conditions(scope, filters)
    if after:
        priority, deadline, case_id = decode_cursor(after)
        conditions.append(
            tuple_(Case.queue_priority, Case.deadline, Case.id)
            > tuple_(priority, deadline, case_id)
        )
    # The facility's zone comes along in the same query: deadlines are its local dates.
    rows = (
        await session.execute(
            select(Case, Facility.time_zone)
            .join(Facility, Facility.id == Case.facility_id)
            .where(and_(*conditions))
            .order_by(Case.queue_priority, Case.deadline, Case.id)
            .limit(limit + 1)
        )
    ).all()
    items = [
        QueueItem(case, (case.deadline - local_date(now, zone)).days, near_days)
        for case, zone in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    return QueuePage(items, next_cursor)


def local_date(now: datetime, zone: str) -> date:
    """The calendar date at `now` in the IANA zone `zone`."""
    return now.astimezone(ZoneInfo(zone)).date()  # ZoneInfo caches zones itself


def parse_statuses(values: Iterable[str]) -> frozenset[CaseStatus]:
    """Status filter values from a query string, or ValueError naming the unknown one."""
    return frozenset(CaseStatus(value) for value in values if value)
