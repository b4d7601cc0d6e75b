"""Who may see an interview's summary, record its outcome and acknowledge a version.

Rules (interviews.access holds the role table): the consuls of the interview's
consulate while its case is shared with them (a revoked share ends access) and the staff
of its facility read the summary (admins too); only such a consul records the outcome; a
version is acknowledged once for each side, by a consul or staff member of that side who
*took part* — invited to the interview, or let into its session. Everyone else gets Forbidden.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Action, Actor, Forbidden, authorize
from interviews.accounts import Role
from interviews.audit import record
from interviews.case_access import load_case
from interviews.summaries import Party, SummaryAcknowledgement, SummaryVersion
from scheduling.appointments import Interview, ParticipantRole
from scheduling.booking_rules import InterviewNotFound
from signaling.records import EventKind, SessionEvent


class AlreadyAcknowledged(Exception):
    """This side has already acknowledged this version."""

    def __init__(self, existing: SummaryAcknowledgement) -> None:
        # Plain values: the row is gone with the transaction the refusal rolls back.
        super().__init__(f"already acknowledged by {existing.user_name}")
        self.user_name = existing.user_name


async def load_interview(
    session: AsyncSession, actor: Actor | None, interview_id: int, action: Action
) -> Interview:
    """The interview if `actor` may do `action` on its summary, else Forbidden/NotFound."""
    checked = authorize(actor, action)
    interview = await session.get(Interview, interview_id)
    if interview is None:
        raise InterviewNotFound(interview_id)
    # Scoped to the interview's consulate (consuls) and facility (staff); an account of
    # neither organisation fails both comparisons.
    authorize(
        checked, action, consulate_id=interview.consulate_id, facility_id=interview.facility_id
    )
    if checked.role is Role.CONSUL:
        # A consul sees a case, and so its interviews' records, only while it is shared.
        await load_case(session, checked, interview.case_id, action)
    return interview


def allowed(actor: Actor, action: Action, interview: Interview) -> bool:
    """Whether `actor` may do `action` on this interview's summary (for showing links)."""
    try:
        authorize(
            actor, action, consulate_id=interview.consulate_id, facility_id=interview.facility_id
        )
    except Forbidden:
        return False
    return True


async def took_part(session: AsyncSession, interview: Interview, actor: Actor) -> bool:
    """True when `actor` was invited to the interview or was in its session."""
    invited = any(
        p.user_id == actor.user_id and not p.removed and p.role != ParticipantRole.INTERPRETER
        for p in interview.participants
    )
    if invited:
        return True
    # A signed-in guest took part once the host let them in (knocking is not taking part).
    admitted = await session.scalar(
        select(SessionEvent.id)
        .where(
            SessionEvent.interview_id == interview.id,
            SessionEvent.user_id == actor.user_id,
            SessionEvent.kind == EventKind.ADMIT.value,
        )
        .limit(1)
    )
    return admitted is not None


def party_of(actor: Actor) -> Party:
    """The side an acknowledging actor speaks for."""
    return Party.CONSUL if actor.role is Role.CONSUL else Party.FACILITY


async def acknowledge(
    session: AsyncSession,
    interview: Interview,
    version: SummaryVersion,
    actor: Actor,
    *,
    now: datetime,
    remote: str = "",
) -> SummaryAcknowledgement:
    """Record `actor`'s side acknowledging `version` (audited); Forbidden if they were not
    there, AlreadyAcknowledged if their side already did."""
    if not await took_part(session, interview, actor):
        raise Forbidden(Action.SUMMARY_ACKNOWLEDGE, "you did not take part in this interview")
    party = party_of(actor)
    existing = version.acknowledged_by(party)
    if existing is not None:
        raise AlreadyAcknowledged(existing)
    row = SummaryAcknowledgement(
        summary_id=version.id,
        party=party.value,
        user_id=actor.user_id,
        user_name=actor.name,
        at=now,
        sha256=version.sha256,
    )
    version.acknowledgements.append(row)
    await session.flush()
    await record(
        session,
        "summary.acknowledge",
        actor=actor,
        target_type="interview",
        target_id=interview.id,
        remote=remote,
        details={"version": version.version, "party": party.value, "sha256": version.sha256},
        now=now,
    )
    return row
