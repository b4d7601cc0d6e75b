"""Resolving a personal join link to the interview and the person, and noting that they came.

The live session (issue 5) builds on `resolve_join`: it says whether the link is genuine,
still meant for this person, and whether the interview can be joined now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from interviews.audit import record
from scheduling.appointments import Interview, InterviewStatus, Participant
from scheduling.tokens import join_window, read_join_token


class JoinState(StrEnum):
    """What a join link leads to right now."""

    INVALID = "invalid"  # forged, altered, or revoked (the person was replaced)
    ENDED = "ended"  # cancelled, declined, not held, or past its window
    AWAITING = "awaiting"  # the consulate has not confirmed it yet
    TOO_EARLY = "too_early"
    OPEN = "open"


@dataclass(frozen=True)
class JoinGrant:
    """A resolved link."""

    state: JoinState
    interview: Interview | None = None
    participant: Participant | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None


async def resolve_join(
    session: AsyncSession, secret: bytes, token: str, now: datetime
) -> JoinGrant:
    """Check a join token against the stored interview and the time."""
    claim = read_join_token(secret, token)
    if claim is None:
        return JoinGrant(JoinState.INVALID)
    participant = await session.get(Participant, claim.participant_id)
    if (
        participant is None
        or participant.interview_id != claim.interview_id
        or participant.token_nonce != claim.nonce
        or participant.removed
    ):
        return JoinGrant(JoinState.INVALID)
    interview = await session.get(Interview, claim.interview_id)
    if interview is None:
        return JoinGrant(JoinState.INVALID)
    opens_at, closes_at = join_window(interview.starts_at, interview.ends_at)
    if not interview.interview_status.active or now > closes_at:
        state = JoinState.ENDED
    elif interview.interview_status is not InterviewStatus.CONFIRMED:
        state = JoinState.AWAITING
    elif now < opens_at:
        state = JoinState.TOO_EARLY
    else:
        state = JoinState.OPEN
    return JoinGrant(state, interview, participant, opens_at, closes_at)


def joinable(interview: Interview, user_id: int, now: datetime) -> bool:
    """Whether a signed-in user is on this confirmed interview and its join window is open:
    then their calendar and the interview page offer "Join" (signaling.admission lets them
    in by their sign-in, no link needed)."""
    if interview.interview_status is not InterviewStatus.CONFIRMED:
        return False
    opens_at, closes_at = join_window(interview.starts_at, interview.ends_at)
    people = interview.current_participants()
    return opens_at <= now < closes_at and any(p.user_id == user_id for p in people)


async def note_arrival(
    session: AsyncSession, grant: JoinGrant, now: datetime, remote: str = ""
) -> None:
    """Record (once) that the person opened their link while the interview was open; audited."""
    if grant.state is not JoinState.OPEN or grant.participant is None or grant.interview is None:
        return
    await note_entry(session, grant.interview.id, grant.participant.id, now, remote)


async def note_entry(
    session: AsyncSession, interview_id: int, participant_id: int, now: datetime, remote: str = ""
) -> None:
    """Record (once) that an invited person came: opened their link or entered the live
    session (by link, pass or sign-in). The no-show check reads this; audited."""
    participant = await session.get(Participant, participant_id)
    if (
        participant is None
        or participant.interview_id != interview_id
        or participant.joined_at is not None
    ):
        return
    participant.joined_at = now
    await session.flush()
    await record(
        session,
        "interview.join",
        actor=None,
        target_type="interview",
        target_id=interview_id,
        remote=remote,
        details={"participant_id": participant.id, "role": participant.role},
        note=participant.name,
        now=now,
    )
