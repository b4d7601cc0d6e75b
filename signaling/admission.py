"""Who may enter a live session: join links, the session pass they become, signed-in users.

A join link's token (scheduling.tokens) is exchanged once for a *session pass*: a signed
cookie value naming the interview, the participant and their nonce, so the token itself
leaves the address bar and the logs. Every use of a pass or token is checked again
against the database: the nonce (revocation), the interview's status and its join
window, and that the session has not been ended.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Action, Actor, Forbidden, authorize
from interviews.accounts import User
from scheduling.appointments import Interview, InterviewStatus, Participant, ParticipantRole
from scheduling.tokens import JoinClaim, join_window, read_join_token
from signaling.records import session_ended

PASS_PURPOSE = b"consulink/session-pass/v1\x00"
GUEST = "guest"


@dataclass(frozen=True)
class Entrant:
    """A person allowed to knock on a session's door, and what they are there as."""

    interview_id: int
    participant_id: int | None
    user_id: int | None
    role: str  # a ParticipantRole value, or "guest" for someone not on the interview
    name: str
    language: str
    invited: bool
    host: bool
    # When their right to be there lapses (the end of the join window).
    until: datetime
    # What their session pass names (invited people only).
    claim: JoinClaim | None = None
    # The interview's version when they came in (an END names it; a reschedule bumps it).
    sequence: int = 0


class Refused(Exception):
    """Entry refused, with a code the pages and the protocol show."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_pass(secret: bytes, claim: JoinClaim) -> str:
    """The session-pass cookie value for a participant's verified claim."""
    payload = f"{claim.interview_id}:{claim.participant_id}:{claim.nonce}".encode()
    signature = hmac.new(secret, PASS_PURPOSE + payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def read_pass(secret: bytes, value: str) -> JoinClaim | None:
    """The claim of a genuine pass, or None. Same format as tokens, different purpose."""
    try:
        encoded, encoded_signature = value.split(".")
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        signature = base64.urlsafe_b64decode(
            encoded_signature + "=" * (-len(encoded_signature) % 4)
        )
        expected = hmac.new(secret, PASS_PURPOSE + payload, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            return None
        interview_id, participant_id, nonce = payload.decode().split(":")
        return JoinClaim(int(interview_id), int(participant_id), nonce)
    except (ValueError, UnicodeDecodeError):
        return None


def pass_cookie_name(interview_id: int) -> str:
    """One pass cookie per interview, so links to two interviews never collide."""
    return f"consulink_pass_{interview_id}"


async def _usable_interview(session: AsyncSession, interview_id: int, now: datetime) -> Interview:
    interview = await session.get(Interview, interview_id)
    if interview is None:
        raise Refused("not_found", "There is no such interview.")
    if interview.interview_status is not InterviewStatus.CONFIRMED:
        raise Refused("not_confirmed", "This interview is not confirmed (it may be cancelled).")
    opens, closes = join_window(interview.starts_at, interview.ends_at)
    if now < opens:
        raise Refused("not_yet", f"The session opens at {opens.isoformat()} (UTC).")
    if now >= closes:
        raise Refused("expired", "This link has expired: the interview is over.")
    if await session_ended(session, interview_id, interview.sequence):
        raise Refused("ended", "The host has ended this session.")
    return interview


def _entrant(interview: Interview, person: Participant, until: datetime) -> Entrant:
    return Entrant(
        interview_id=interview.id,
        participant_id=person.id,
        user_id=person.user_id,
        role=person.role,
        name=person.name,
        language=person.language,
        invited=True,
        host=person.role == ParticipantRole.STAFF.value,
        until=until,
        claim=JoinClaim(interview.id, person.id, person.token_nonce),
        sequence=interview.sequence,
    )


async def entrant_from_claim(
    session: AsyncSession, claim: JoinClaim, interview_id: int, now: datetime
) -> Entrant:
    """The person a token or pass names, if it is for `interview_id` and still good."""
    if claim.interview_id != interview_id:
        raise Refused("other_interview", "This link is for another interview.")
    interview = await _usable_interview(session, interview_id, now)
    person = next((p for p in interview.participants if p.id == claim.participant_id), None)
    if person is None or person.removed or not hmac.compare_digest(person.token_nonce, claim.nonce):
        raise Refused("revoked", "This link is no longer valid; use the newest invitation.")
    return _entrant(interview, person, join_window(interview.starts_at, interview.ends_at)[1])


async def entrant_from_token(
    session: AsyncSession, secret: bytes, token: str, interview_id: int | None, now: datetime
) -> Entrant:
    """The person a join link's token names (for `interview_id`, or its own interview)."""
    claim = read_join_token(secret, token)
    if claim is None:
        raise Refused("invalid_link", "This link is not valid. Check that it was copied whole.")
    return await entrant_from_claim(
        session, claim, claim.interview_id if interview_id is None else interview_id, now
    )


async def entrant_for_user(
    session: AsyncSession, actor: Actor, interview_id: int, now: datetime
) -> Entrant:
    """A signed-in user: as their invitation when they are on the interview, else a guest.

    Guests must be entitled to the interview's organisations (access.py decides) and wait
    until the host admits them.
    """
    interview = await _usable_interview(session, interview_id, now)
    until = join_window(interview.starts_at, interview.ends_at)[1]
    for person in interview.current_participants():
        if person.user_id == actor.user_id:
            return _entrant(interview, person, until)
    try:
        authorize(
            actor,
            Action.SESSION_JOIN,
            consulate_id=interview.consulate_id,
            facility_id=interview.facility_id,
            user_id=interview.interpreter_id or -1,
        )
    except Forbidden:
        raise Refused("forbidden", "You are not invited to this interview.") from None
    user = await session.get(User, actor.user_id)
    return Entrant(
        interview_id=interview.id,
        participant_id=None,
        user_id=actor.user_id,
        role=GUEST,
        name=actor.name,
        language=user.language if user is not None else "en",
        invited=False,
        host=False,
        until=until,
        sequence=interview.sequence,
    )
