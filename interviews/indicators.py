"""Indicators computed in the database: counts and day histograms per month, facility, nationality.

Every query groups in SQL (one row per month × facility × nationality × value), so 100,000
cases cost a handful of scans, not 100,000 Python objects. Medians and 90th percentiles
are read off the day histograms, which also lets any roll-up (all facilities, all months)
be computed exactly without asking the database again. Definitions are in
docs/statistics.md; the privacy rules in `suppression`.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Literal, NamedTuple

from sqlalchemy import Index, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews.cases import Case, CaseStatus, CaseStatusChange
from interviews.consulates import Consulate
from interviews.db import UTCDateTime
from interviews.facilities import Facility
from interviews.stats_sql import days_between, month_of
from scheduling.appointments import Interview, InterviewStatus, Participant
from scheduling.shortfalls import InterpreterShortfall

ALL = "*"  # "every value" in a dimension (totals), as the exchange format writes it

# Case indicators: the cohort of cases opened in the month.
CASE_COUNTS = (
    "cases_opened",
    "minors",
    "unaccompanied_minors",
    "cases_interviewed",
    "cases_identified",
    "identity_confirmed",
    "identity_not_confirmed",
    "cases_past_deadline",
)
# Interview indicators: interviews by the month they were scheduled to start.
INTERVIEW_COUNTS = (
    "interviews_requested",
    "interviews_held",
    "interviews_no_show",
    "interviews_cancelled",
)
DAY_MEASURES = ("days_to_first_interview", "days_to_identification")
# Breakdowns that replace nationality: held interviews per consulate and per language,
# and cases whose slot search found no interpreter, per language.
BREAKDOWNS: dict[str, Literal["consulate", "language"]] = {
    "interviews_held_by_consulate": "consulate",
    "interviews_held_by_language": "language",
    "interpreter_shortfall": "language",
}
OUTCOMES = (CaseStatus.IDENTITY_CONFIRMED.value, CaseStatus.IDENTITY_NOT_CONFIRMED.value)


# Indexes the statistics queries read instead of the tables (covering, so SQLite never
# visits the rows); declared here, next to the queries they serve (migration 0011).
Index(
    "ix_cases_statistics",
    Case.created_at,
    Case.facility_id,
    Case.claimed_nationality,
    Case.detention_date,
    Case.deadline,
    Case.minor,
    Case.unaccompanied_minor,
)
Index("ix_interviews_statistics", Interview.starts_at, Interview.case_id, Interview.status)
Index(
    "ix_case_status_changes_outcome",
    CaseStatusChange.case_id,
    CaseStatusChange.to_status,
    CaseStatusChange.at,
)


class Fine(NamedTuple):
    """The finest grain the database returns: one indicator in one cell."""

    indicator: str
    period: str  # YYYY-MM
    facility_id: int
    nationality: str  # ISO 3166-1 alpha-2, or ALL for breakdown rows
    dimension_value: str = ""  # consulate name or language code, for breakdowns


@dataclass(frozen=True)
class StatsQuery:
    """Which months and which part of the data: the dashboard's filters and the caller's scope."""

    first_month: date  # the 1st of the first month
    last_month: date  # the 1st of the last month (inclusive)
    facility_id: int | None = None
    country: str | None = None  # country of detention (the facility's country)
    nationality: str | None = None

    @property
    def start(self) -> datetime:
        """The first instant counted (UTC)."""
        return datetime.combine(self.first_month, time(), UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the last month (UTC)."""
        year, month = self.last_month.year, self.last_month.month + 1
        if month == 13:
            year, month = year + 1, 1
        return datetime(year, month, 1, tzinfo=UTC)


@dataclass
class RawFigures:
    """What the database returned, before any roll-up or suppression."""

    counts: Counter[Fine] = field(default_factory=Counter)
    histograms: dict[Fine, Counter[int]] = field(default_factory=dict)
    facilities: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (country, name)

    def add_cells(
        self, names: tuple[str, ...], cells: dict[tuple[str, int, str], list[int]]
    ) -> None:
        """Add per-cell sums (one list per month × facility × nationality, in `names` order)."""
        for cell, sums in cells.items():
            for name, value in zip(names, sums, strict=True):
                self.counts[Fine(name, *cell)] += value

    def add_histograms(self, name: str, cells: dict[tuple[str, int, str], Counter[int]]) -> None:
        """Add per-cell day histograms of the measure `name`."""
        for cell, histogram in cells.items():
            key = Fine(name, *cell)
            if key in self.histograms:
                self.histograms[key].update(histogram)
            else:
                self.histograms[key] = histogram


async def _rows(session: AsyncSession, stmt: Any) -> Any:
    """Plain rows of a Core statement (no ORM result processing: there may be 100,000)."""
    connection = await session.connection()
    return await connection.execute(stmt)


def _scope(query: StatsQuery, at: Any) -> Any:
    """The query's months (on the timestamp `at`) and scope, as one WHERE condition."""
    conditions = [at >= query.start, at < query.end]
    if query.facility_id is not None:
        conditions.append(Case.facility_id == query.facility_id)
    if query.country is not None:
        in_country = select(Facility.id).where(Facility.country == query.country)
        conditions.append(Case.facility_id.in_(in_country))
    if query.nationality is not None:
        conditions.append(Case.claimed_nationality == query.nationality)
    return and_(*conditions)


def _held_interviews() -> Any:
    """Interviews that took place: confirmed, and someone joined the call."""
    joined = select(Participant.interview_id).where(Participant.joined_at.is_not(None))
    return and_(Interview.status == InterviewStatus.CONFIRMED.value, Interview.id.in_(joined))


def _flag(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _outcomes() -> Any:
    """Per case: its first identification outcome, and whether identity was ever confirmed."""
    return (
        select(
            CaseStatusChange.case_id.label("case_id"),
            func.min(CaseStatusChange.at).label("first_at"),
            func.max(case((CaseStatusChange.to_status == OUTCOMES[0], 1), else_=0)).label(
                "confirmed"
            ),
        )
        .where(CaseStatusChange.to_status.in_(OUTCOMES))
        .group_by(CaseStatusChange.case_id)
        .subquery()
    )


async def _cases(
    session: AsyncSession, query: StatsQuery, raw: RawFigures, as_of: datetime
) -> None:
    """Cases opened, minors, outcomes, days to identification, past deadline: one pass."""
    outcome = _outcomes()
    period = month_of(Case.created_at)
    days = days_between(outcome.c.first_at, Case.detention_date)
    # Past the legal deadline: no outcome by the deadline (counting up to `as_of`).
    late = days_between(
        func.coalesce(outcome.c.first_at, literal(as_of, UTCDateTime())), Case.deadline
    )
    stmt = (
        select(
            period,
            Case.facility_id,
            Case.claimed_nationality,
            days,
            outcome.c.confirmed,
            func.count(),
            _flag(Case.minor),
            _flag(Case.unaccompanied_minor),
            _flag(late > 0),
        )
        .outerjoin(outcome, outcome.c.case_id == Case.id)
        .where(_scope(query, Case.created_at))
        .group_by(period, Case.facility_id, Case.claimed_nationality, days, outcome.c.confirmed)
    )
    # Accumulate per cell in plain lists first: one row per case is possible (the days).
    cells: dict[tuple[str, int, str], list[int]] = {}
    histograms: dict[tuple[str, int, str], Counter[int]] = {}
    for month, facility, nationality, took, confirmed, n, minors, alone, past in await _rows(
        session, stmt
    ):
        cell = (month, facility, nationality)
        sums = cells.get(cell)
        if sums is None:
            sums = cells[cell] = [0] * len(_CASE_SUMS)
        sums[0] += n
        sums[1] += minors
        sums[2] += alone
        sums[3] += past
        if took is None:
            continue
        sums[4] += n
        sums[5 if confirmed else 6] += n
        histogram = histograms.get(cell)
        if histogram is None:
            histogram = histograms[cell] = Counter()
        histogram[took] += n
    raw.add_cells(_CASE_SUMS, cells)
    raw.add_histograms("days_to_identification", histograms)


_CASE_SUMS = (
    "cases_opened",
    "minors",
    "unaccompanied_minors",
    "cases_past_deadline",
    "cases_identified",
    "identity_confirmed",
    "identity_not_confirmed",
)


async def _first_interviews(session: AsyncSession, query: StatsQuery, raw: RawFigures) -> None:
    first = (
        select(Interview.case_id.label("case_id"), func.min(Interview.starts_at).label("at"))
        .where(_held_interviews())
        .group_by(Interview.case_id)
        .subquery()
    )
    period = month_of(Case.created_at)
    days = days_between(first.c.at, Case.detention_date)
    stmt = (
        select(period, Case.facility_id, Case.claimed_nationality, days, func.count())
        .join(first, first.c.case_id == Case.id)
        .group_by(period, Case.facility_id, Case.claimed_nationality, days)
    )
    cells: dict[tuple[str, int, str], list[int]] = {}
    histograms: dict[tuple[str, int, str], Counter[int]] = {}
    for month, facility, nationality, took, count in await _rows(
        session, stmt.where(_scope(query, Case.created_at))
    ):
        cell = (month, facility, nationality)
        sums = cells.get(cell)
        if sums is None:
            sums = cells[cell] = [0]
            histograms[cell] = Counter()
        sums[0] += count
        histograms[cell][took] += count
    raw.add_cells(("cases_interviewed",), cells)
    raw.add_histograms("days_to_first_interview", histograms)


async def _interviews(session: AsyncSession, query: StatsQuery, raw: RawFigures) -> None:
    period = month_of(Interview.starts_at)
    held = case((_held_interviews(), 1), else_=0)
    stmt = (
        select(
            period,
            Case.facility_id,
            Case.claimed_nationality,
            func.count(),
            func.sum(held),
            _flag(Interview.status == InterviewStatus.NO_SHOW.value),
            _flag(Interview.status == InterviewStatus.CANCELLED.value),
        )
        .join(Case, Case.id == Interview.case_id)
        .group_by(period, Case.facility_id, Case.claimed_nationality)
    )
    for (
        month,
        facility,
        nationality,
        requested,
        n_held,
        no_show,
        cancelled,
    ) in await _rows(session, stmt.where(_scope(query, Interview.starts_at))):
        for name, value in (
            ("interviews_requested", requested),
            ("interviews_held", n_held),
            ("interviews_no_show", no_show),
            ("interviews_cancelled", cancelled),
        ):
            raw.counts[Fine(name, month, facility, nationality)] += value
    # Held interviews per consulate and per interpreted language, in one pass that needs
    # no join (the interview has its facility; consulate names are mapped here).
    conditions = [
        _held_interviews(),
        Interview.starts_at >= query.start,
        Interview.starts_at < query.end,
    ]
    if query.facility_id is not None:
        conditions.append(Interview.facility_id == query.facility_id)
    if query.country is not None:
        in_country = select(Facility.id).where(Facility.country == query.country)
        conditions.append(Interview.facility_id.in_(in_country))
    if query.nationality is not None:
        of_nationality = select(Case.id).where(Case.claimed_nationality == query.nationality)
        conditions.append(Interview.case_id.in_(of_nationality))
    stmt = (
        select(
            period, Interview.facility_id, Interview.consulate_id, Interview.language, func.count()
        )
        .where(*conditions)
        .group_by(period, Interview.facility_id, Interview.consulate_id, Interview.language)
    )
    names = {
        row.id: row.name for row in await session.execute(select(Consulate.id, Consulate.name))
    }
    for month, facility, consulate_id, language, count in await _rows(session, stmt):
        key = Fine("interviews_held_by_consulate", month, facility, ALL, names[consulate_id])
        raw.counts[key] += count
        if language is not None:
            raw.counts[Fine("interviews_held_by_language", month, facility, ALL, language)] += count


async def _shortfalls(session: AsyncSession, query: StatsQuery, raw: RawFigures) -> None:
    period = month_of(InterpreterShortfall.at)
    stmt = (
        select(
            period,
            Case.facility_id,
            InterpreterShortfall.language,
            func.count(func.distinct(InterpreterShortfall.case_id)),
        )
        .join(Case, Case.id == InterpreterShortfall.case_id)
        .group_by(period, Case.facility_id, InterpreterShortfall.language)
    )
    for month, facility, language, count in await session.execute(
        stmt.where(_scope(query, InterpreterShortfall.at))
    ):
        raw.counts[Fine("interpreter_shortfall", month, facility, ALL, language)] += count


async def compute(
    sessions: async_sessionmaker[AsyncSession], query: StatsQuery, *, as_of: datetime
) -> RawFigures:
    """Every indicator for the query's months and scope, grouped in the database.

    The three heavy passes (cases, first interviews, interviews) run at once, each in a
    session of its own: the database works on them in parallel (SQLite's reads run in
    their own threads without the GIL), so the wall time is that of the slowest pass.
    `as_of` is the moment the figures describe: a case with no outcome yet counts as past
    its deadline when the deadline is before this day.
    """
    raw = RawFigures()

    async def facilities() -> None:
        async with sessions() as session:
            rows = await session.execute(select(Facility.id, Facility.country, Facility.name))
            raw.facilities = {row.id: (row.country, row.name) for row in rows}

    async def cases() -> None:
        async with sessions() as session:
            await _cases(session, query, raw, as_of)

    async def first_interviews() -> None:
        async with sessions() as session:
            await _first_interviews(session, query, raw)

    async def interviews() -> None:
        async with sessions() as session:
            await _interviews(session, query, raw)
            await _shortfalls(session, query, raw)

    # Each pass adds to its own indicators of `raw`, between awaits: no pass sees another's
    # half-written figures.
    async with asyncio.TaskGroup() as passes:
        for part in (facilities, cases, first_interviews, interviews):
            passes.create_task(part())
    return raw


def percentile(histogram: Counter[int], share: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least `share` of cases at or below."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total - 1e-9))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)
