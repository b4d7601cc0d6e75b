"""Interpreter shortfall: each slot search that found no interpreter for the person's language.

The search itself stays pure (scheduling.slots); the handlers that run a search for a
case call `record_shortfall` with its result, so statistics can say which languages
lack interpreters, and where.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.db import Base, UTCDateTime
from scheduling.slots import SearchResult

# Problems meaning "no interpreter": none registered for the language, or none free in time.
SHORTFALL_PROBLEMS = {"no_interpreter": "none_registered", "interpreters_unavailable": "none_free"}


class InterpreterShortfall(Base):
    """One search for one case that found no interpreter for one of its languages."""

    __tablename__ = "interpreter_shortfalls"
    __table_args__ = (Index("ix_interpreter_shortfalls_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    language: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(16))


async def record_shortfall(
    session: AsyncSession, result: SearchResult, *, case_id: int, facility_id: int, now: datetime
) -> int:
    """Record one row per language when `result` found no interpreter; returns the rows added."""
    if result.slots:
        return 0
    added = 0
    for problem in result.problems:
        reason = SHORTFALL_PROBLEMS.get(problem.code)
        languages = problem.params.get("languages")
        if reason is None or not isinstance(languages, list):
            continue
        for language in languages:
            session.add(
                InterpreterShortfall(
                    at=now,
                    case_id=case_id,
                    facility_id=facility_id,
                    language=str(language),
                    reason=reason,
                )
            )
            added += 1
    await session.flush()
    return added
