"""Assemble an interview's summary document from what the session left behind.

Reads, once each: the interview and its people, the session record (joins, leaves,
reconnects, quality reports), the chat, the transcript, the recordings, the
questionnaire result and the outcome — then builds the document in one pass over each
list, so a 60-minute interview with hundreds of transcript lines assembles in
milliseconds. The shape is the contract with the exports (docs/summaries.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.accounts import User
from interviews.cases import Case
from interviews.codes import CodeError, language
from interviews.consulates import Consulate
from interviews.facilities import Facility
from interviews.outcomes import current_outcome, iso
from interviews.questionnaire_answers import filled
from interviews.summaries import FORMAT, SummaryVersion, store_summary
from scheduling.appointments import Interview, Participant
from scheduling.booking_rules import InterviewNotFound
from signaling.records import ChatMessage, EventKind, SessionEvent, recordings
from signaling.transcripts import TranscriptLine

# One session event as the assembly reads it: at, kind, participant, user, name, details.
EventRow = Row[datetime, str, int | None, int | None, str, str]
Person = tuple[int | None, int | None]  # (participant id, user id), as the session keys people
# The summary's names for the people of an interview (ParticipantRole "staff" is the facility).
ROLES = {"consul": "consul", "staff": "facility", "interpreter": "interpreter"}
POOR = frozenset({"poor", "failed"})


def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment is not None else None


def _language(code: str | None) -> str | None:
    """ISO 639-3 for the document (people's UI languages are stored as 'en', 'es')."""
    if not code:
        return None
    try:
        return language(code)
    except CodeError:
        return code


@dataclass
class _Attendance:
    """One person's time in the session, built while walking the record."""

    role: str
    name: str
    organisation: str
    language: str | None
    periods: list[list[datetime | None]] = field(default_factory=list)
    reconnects: int = 0
    ice_restarts: int = 0
    poor_pairs: set[str] = field(default_factory=set)
    poor: list[list[datetime | None]] = field(default_factory=list)

    def enter(self, at: datetime) -> None:
        self.leave(at)  # a join without a leave (the server restarted) ends the last period
        self.periods.append([at, None])

    def leave(self, at: datetime) -> None:
        if self.periods and self.periods[-1][1] is None:
            self.periods[-1][1] = at
        self.report(at, None, None)

    def report(self, at: datetime, peer: str | None, level: str | None) -> None:
        """A quality report about one peer (None: every link ends with the person)."""
        was_poor = bool(self.poor_pairs)
        if peer is None:
            self.poor_pairs.clear()
        elif level in POOR:
            self.poor_pairs.add(peer)
        else:
            self.poor_pairs.discard(peer)
        if not was_poor and self.poor_pairs:
            self.poor.append([at, None])
        elif was_poor and not self.poor_pairs:
            self.poor[-1][1] = at

    def as_document(self, until: datetime | None) -> dict[str, Any]:
        seconds = sum(
            max(0.0, ((end or until or start) - start).total_seconds())
            for start, end in self.periods
            if start is not None
        )
        return {
            "role": self.role,
            "name": self.name,
            "organisation": self.organisation,
            "language": self.language,
            "periods": [{"joined_at": _iso(a), "left_at": _iso(b)} for a, b in self.periods],
            "seconds": round(seconds),
            "reconnects": self.reconnects,
            "ice_restarts": self.ice_restarts,
            "poor_quality": [{"from": _iso(a), "to": _iso(b)} for a, b in self.poor],
        }


@dataclass(frozen=True)
class _Parties:
    """How to name the people of this interview."""

    interview: Interview
    consulate: Consulate | None
    facility: Facility | None
    invited: dict[int, Participant]
    guests: dict[int, User]

    def organisation_of(self, role: str, user: User | None) -> str:
        if role == "consul" or (user is not None and user.consulate_id is not None):
            return self.consulate.name if self.consulate else ""
        if role == "staff" or (user is not None and user.facility_id is not None):
            return self.facility.name if self.facility else ""
        return ""

    def attendance(self, event: EventRow) -> _Attendance:
        person = self.invited.get(event.participant_id or -1)
        if person is not None:
            return _Attendance(
                ROLES.get(person.role, "guest"),
                person.name,
                self.organisation_of(person.role, None),
                _language(person.language),
            )
        user = self.guests.get(event.user_id or -1)
        return _Attendance(
            "guest",
            event.name or (user.name if user else ""),
            self.organisation_of("guest", user),
            _language(user.language if user else None),
        )

    def role_of(self, participant_id: int | None) -> str:
        person = self.invited.get(participant_id or -1)
        return ROLES.get(person.role, "guest") if person is not None else "guest"


def _walk(
    events: Sequence[EventRow], parties: _Parties
) -> tuple[dict[Person, _Attendance], datetime | None, datetime | None]:
    """Attendance per person, and when the session opened and closed (None if it did not)."""
    people: dict[Person, _Attendance] = {}
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    for event in events:
        kind = event.kind
        if kind == EventKind.OPEN.value and opened_at is None:
            opened_at = event.at
        if kind == EventKind.END.value:
            closed_at = event.at
            for attendance in people.values():
                attendance.leave(event.at)
            continue
        key: Person = (event.participant_id, event.user_id)
        if key == (None, None):
            continue
        found = people.get(key)
        if found is None:
            if kind not in (EventKind.JOIN.value, EventKind.RECONNECT.value):
                continue
            found = people[key] = parties.attendance(event)
        attendance = found
        if kind in (EventKind.JOIN.value, EventKind.RECONNECT.value):
            attendance.enter(event.at)
            attendance.reconnects += kind == EventKind.RECONNECT.value
        elif kind == EventKind.LEAVE.value:
            attendance.leave(event.at)
        elif kind == EventKind.RESTART.value:
            attendance.ice_restarts += 1
        elif kind == EventKind.QUALITY.value:
            detail = json.loads(event.details)
            attendance.report(event.at, str(detail.get("peer", "")), detail.get("level"))
    if closed_at is None and opened_at is not None and people:
        # Nobody ended it: it closed when the last person left, if everybody has.
        ends = [a.periods[-1][1] for a in people.values() if a.periods]
        if ends and all(end is not None for end in ends):
            closed_at = max(end for end in ends if end is not None)
    return people, opened_at, closed_at


async def build_summary(session: AsyncSession, interview_id: int, now: datetime) -> dict[str, Any]:
    """The summary document of an interview as its records stand now (version 0: unstored)."""
    interview = await session.get(Interview, interview_id)
    if interview is None:
        raise InterviewNotFound(interview_id)
    case = await session.get(Case, interview.case_id)
    consulate = await session.get(Consulate, interview.consulate_id)
    facility = await session.get(Facility, interview.facility_id)
    # Plain rows, not ORM objects: a long session has thousands of quality reports and
    # hundreds of transcript lines, and building objects for them was most of the cost.
    events = (
        await session.execute(
            select(
                SessionEvent.at,
                SessionEvent.kind,
                SessionEvent.participant_id,
                SessionEvent.user_id,
                SessionEvent.name,
                SessionEvent.details,
            )
            .where(SessionEvent.interview_id == interview_id)
            .order_by(SessionEvent.at, SessionEvent.id)
        )
    ).all()
    guest_ids = {e.user_id for e in events if e.participant_id is None and e.user_id is not None}
    guests = (
        {u.id: u for u in await session.scalars(select(User).where(User.id.in_(guest_ids)))}
        if guest_ids
        else {}
    )
    parties = _Parties(
        interview, consulate, facility, {p.id: p for p in interview.participants}, guests
    )
    people, opened_at, closed_at = _walk(events, parties)
    questionnaire = await filled(session, interview.case_id, interview.consulate_id)
    outcome = await current_outcome(session, interview_id)
    return {
        "format": FORMAT,
        "version": 0,
        "generated_at": iso(now),
        "interview": {
            "id": interview.id,
            "uid": interview.uid,
            "starts_at": iso(interview.starts_at),
            "ends_at": iso(interview.ends_at),
            "status": "held" if opened_at is not None else interview.status,
            "language": interview.language,
            "opened_at": _iso(opened_at),
            "closed_at": _iso(closed_at),
            "consulate": _consulate(consulate),
            "facility": _facility(facility),
        },
        "case": {
            "id": interview.case_id,
            "reference": case.reference if case else "",
            "person_name": case.full_name if case else "",
            "claimed_nationality": case.claimed_nationality if case else None,
        },
        "participants": [a.as_document(closed_at or now) for a in people.values()],
        "chat": [
            {"at": iso(m.at), "name": m.name, "text": m.text}
            for m in await session.execute(
                select(ChatMessage.at, ChatMessage.name, ChatMessage.text)
                .where(ChatMessage.interview_id == interview_id)
                .order_by(ChatMessage.at, ChatMessage.id)
            )
        ],
        "transcript": [
            {
                "offset_ms": line.offset_ms,
                "duration_ms": line.duration_ms,
                "at": iso(line.at),
                "speaker": line.name,
                "role": parties.role_of(line.participant_id),
                "language": line.language,
                "text": line.text,
                "translations": {
                    lang: t["text"]
                    for lang, t in json.loads(line.translations).items()
                    if t.get("status") == "translated"
                },
                "machine": True,
            }
            for line in await session.execute(
                select(
                    TranscriptLine.offset_ms,
                    TranscriptLine.duration_ms,
                    TranscriptLine.at,
                    TranscriptLine.name,
                    TranscriptLine.participant_id,
                    TranscriptLine.language,
                    TranscriptLine.text,
                    TranscriptLine.translations,
                )
                .where(TranscriptLine.interview_id == interview_id)
                .order_by(TranscriptLine.offset_ms, TranscriptLine.id)
            )
        ],
        "questionnaire": _questionnaire(questionnaire.as_dict(with_answers=False), consulate)
        if questionnaire is not None and questionnaire.started
        else None,
        "outcome": outcome.as_document() if outcome is not None else None,
        "recordings": [
            {
                "id": r.id,
                "participant": _recorded_name(r.participant_id, r.user_id, parties, people),
                "role": parties.role_of(r.participant_id),
                "kind": r.kind,
                "path": r.path,
                "content_type": r.content_type,
                "offset_ms": r.offset_ms,
                "started_at": iso(r.started_at),
                "ended_at": _iso(r.ended_at),
            }
            for r in await recordings(session, interview_id)
        ],
    }


def _recorded_name(
    participant_id: int | None,
    user_id: int | None,
    parties: _Parties,
    people: dict[Person, _Attendance],
) -> str:
    attendance = people.get((participant_id, user_id))
    if attendance is not None:
        return attendance.name
    person = parties.invited.get(participant_id or -1)
    return person.name if person is not None else ""


def _consulate(consulate: Consulate | None) -> dict[str, Any] | None:
    if consulate is None:
        return None
    return {
        "id": consulate.id,
        "name": consulate.name,
        "country": consulate.country,
        "language": consulate.languages[0] if consulate.languages else None,
    }


def _facility(facility: Facility | None) -> dict[str, Any] | None:
    if facility is None:
        return None
    return {
        "id": facility.id,
        "name": facility.name,
        "country": facility.country,
        "language": facility.language,
    }


def _questionnaire(result: dict[str, Any], consulate: Consulate | None) -> dict[str, Any]:
    # `filled` leaves the name to its callers (the case page names several at once).
    result["consulate_name"] = consulate.name if consulate else ""
    # The cases code writes "+00:00"; the summary writes every time with a Z.
    if result.get("updated_at"):
        result["updated_at"] = result["updated_at"].replace("+00:00", "Z")
    return result


async def assemble_summary(
    session: AsyncSession, interview_id: int, *, reason: str, now: datetime
) -> SummaryVersion | None:
    """Build the summary and store it as a new version if it says something new.

    The caller holds a write transaction (WriteGate). None when the newest version already says the
    same (a repeated or late assembly), so assembly is idempotent.
    """
    if session.get_bind().dialect.name == "postgresql":
        # One assembly per interview at a time (the job and an outcome save may race);
        # SQLite's writers already queue on BEGIN IMMEDIATE (scheduling.writes.WriteGate).
        await session.execute(
            select(Interview.id).where(Interview.id == interview_id).with_for_update()
        )
    document = await build_summary(session, interview_id, now)
    return await store_summary(session, document, reason=reason, now=now)
