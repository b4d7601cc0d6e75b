"""Playback of a session: who may watch it, its recorded tracks on one timeline, its transcript.

Tracks are files as the server recorded them (signaling/recorder.py): one per participant,
kind and connection attempt (a reconnect starts a new file), each with its offset from the
session's opening. The page plays them on one timeline that starts at the opening; the
transcript's times are on the same timeline. Every playback is audited: the page by the
caller, each track's file by `audit_track_fetch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Action, Actor, authorize
from interviews.accounts import User
from interviews.audit import AuditEvent, record
from interviews.case_access import load_case
from interviews.cases import Case
from interviews.webvtt import Cue
from scheduling.appointments import Interview, Participant
from signaling.records import Recording, recordings
from signaling.transcripts import TranscriptLine, transcript

# A track fetched again by the same person within this long is the same play (seeks).
PLAY_AUDIT_WINDOW = timedelta(minutes=10)


class PlaybackNotFound(LookupError):
    """No such interview or track (web maps it to 404)."""


@dataclass(frozen=True)
class Track:
    """One recorded file, placed on the session's timeline."""

    recording: Recording
    speaker: str
    role: str

    @property
    def duration_ms(self) -> int | None:
        """How long it lasts, when the server saw it end (else the file tells the player)."""
        ended = self.recording.ended_at
        if ended is None or ended <= self.recording.started_at:
            return None
        return round((ended - self.recording.started_at).total_seconds() * 1000)


@dataclass(frozen=True)
class Playback:
    """What the playback page shows."""

    interview: Interview
    case: Case
    tracks: list[Track]
    transcript: list[TranscriptLine]

    @property
    def length_ms(self) -> int:
        """The timeline's known length: the end of the last track or transcript line."""
        ends = [t.recording.offset_ms + (t.duration_ms or 0) for t in self.tracks]
        ends += [line.offset_ms + line.duration_ms for line in self.transcript]
        return max(ends, default=0)


async def entitled_interview(
    session: AsyncSession, actor: Actor | None, interview_id: int
) -> tuple[Interview, Case]:
    """The interview and its case if `actor` may play its recording, else raise.

    Staff of the interview's facility; consuls of the interview's consulate while the case
    is shared with it (a revoked share ends access). Others: Forbidden (see access.py).
    """
    checked = authorize(actor, Action.RECORDING_PLAY)
    interview = await session.get(Interview, interview_id)
    if interview is None:
        raise PlaybackNotFound(interview_id)
    authorize(
        checked,
        Action.RECORDING_PLAY,
        consulate_id=interview.consulate_id,
        facility_id=interview.facility_id,
    )
    case = await load_case(session, checked, interview.case_id, Action.RECORDING_PLAY)
    return interview, case


async def _speakers(session: AsyncSession, rows: list[Recording]) -> dict[int, tuple[str, str]]:
    """Recording id → (name, role) of whoever it records."""
    out: dict[int, tuple[str, str]] = {}
    for row in rows:
        if row.participant_id is not None:
            person = await session.get(Participant, row.participant_id)
            if person is not None:
                out[row.id] = (person.name, person.role)
                continue
        if row.user_id is not None:
            user = await session.get(User, row.user_id)
            if user is not None:
                out[row.id] = (user.name, user.role)
                continue
        out[row.id] = ("", "")
    return out


async def load_playback(session: AsyncSession, actor: Actor | None, interview_id: int) -> Playback:
    """Everything the playback page needs, if `actor` is entitled."""
    interview, case = await entitled_interview(session, actor, interview_id)
    rows = await recordings(session, interview.id)
    speakers = await _speakers(session, rows)
    tracks = [Track(row, *speakers[row.id]) for row in rows]
    return Playback(interview, case, tracks, await transcript(session, interview.id))


async def load_track(session: AsyncSession, actor: Actor | None, recording_id: int) -> Recording:
    """One recorded track if `actor` may play its interview (roles that never may: 403 first)."""
    authorize(actor, Action.RECORDING_PLAY)
    row = await session.get(Recording, recording_id)
    if row is None:
        raise PlaybackNotFound(recording_id)
    await entitled_interview(session, actor, row.interview_id)
    return row


def transcript_cues(lines: list[TranscriptLine], language: str | None = None) -> list[Cue]:
    """WebVTT cues of a transcript, with the translation into `language` (ISO 639-3)."""
    cues = []
    for line in lines:
        translated = line.translated.get(language or "", {}) if language != line.language else {}
        text = translated.get("text") if translated.get("status") == "translated" else None
        cues.append(Cue(line.offset_ms, line.duration_ms, line.name, line.text, text))
    return cues


async def recorded_interviews(session: AsyncSession, case_id: int) -> list[tuple[Interview, int]]:
    """The case's interviews that left a recording, with their track counts, newest first."""
    rows = await session.execute(
        select(Interview, func.count(Recording.id))
        .join(Recording, Recording.interview_id == Interview.id)
        .where(Interview.case_id == case_id)
        .group_by(Interview.id)
        .order_by(Interview.starts_at.desc())
    )
    return [(interview, int(count)) for interview, count in rows.all()]


async def audit_track_fetch(
    session: AsyncSession, actor: Actor, row: Recording, *, now: datetime, remote: str = ""
) -> bool:
    """Audit `actor` fetching a track's file (recording.play), whatever byte range they ask
    for, unless they fetched it within PLAY_AUDIT_WINDOW: a player's seeks and continued
    downloads add no rows, a download from any offset is never unrecorded. True when a row
    was written."""
    recent = await session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.target_type == "recording",
            AuditEvent.target_id == str(row.id),
            AuditEvent.action == "recording.play",
            AuditEvent.user_id == actor.user_id,
            AuditEvent.at > now - PLAY_AUDIT_WINDOW,
        )
        .limit(1)
    )
    if recent is not None:
        return False
    await record(
        session,
        "recording.play",
        actor=actor,
        target_type="recording",
        target_id=row.id,
        remote=remote,
        details={"interview_id": row.interview_id, "kind": row.kind},
        now=now,
    )
    return True
