"""Recording an interview's outcome: checks, the save with its case-status walk, and a new
summary version when a summary already exists (the old versions stay as they were)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Actor
from interviews.cases import Case
from interviews.outcomes import InterviewOutcome, OutcomeIn, save_outcome
from interviews.summaries import SummaryVersion, current_summary
from interviews.summary_assembly import assemble_summary
from scheduling.appointments import Interview, InterviewStatus


class OutcomeNotAllowed(Exception):
    """The interview is not one an outcome can be recorded for (never confirmed)."""


@dataclass(frozen=True)
class Recorded:
    """What saving an outcome did."""

    outcome: InterviewOutcome
    case: Case
    summary: SummaryVersion | None  # the new summary version, if one was made


async def record_outcome(
    session: AsyncSession,
    interview: Interview,
    data: OutcomeIn,
    *,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> Recorded:
    """Save the outcome of a confirmed interview (the caller authorized OUTCOME_RECORD).

    Raises OutcomeNotAllowed, or TransitionRefused when the case cannot reach the status
    the finding calls for; either way nothing is written (the caller's transaction).
    """
    if interview.status != InterviewStatus.CONFIRMED.value:
        raise OutcomeNotAllowed(f"the interview is {interview.status}, not confirmed")
    case = await session.get(Case, interview.case_id)
    if case is None:
        raise OutcomeNotAllowed("the interview's case no longer exists")
    outcome = await save_outcome(
        session, interview.id, case, data, actor=actor, now=now, remote=remote
    )
    summary = None
    if await current_summary(session, interview.id) is not None:
        summary = await assemble_summary(session, interview.id, reason="outcome", now=now)
    return Recorded(outcome, case, summary)
