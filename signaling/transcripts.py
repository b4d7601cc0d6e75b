"""The session transcript: every final caption a live session produced, for the summary.

One row per final caption: when it started in the session (milliseconds from the
session's opening), who spoke (participant or user, their peer id and name), the speech
language, the recognised text, every translation made for a viewer, and the recogniser's
confidence. Captions are machine output; the summary must label them so.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.db import Base, UTCDateTime
from signaling.captions.events import Caption


class TranscriptLine(Base):
    """One final caption of a live session."""

    __tablename__ = "session_transcripts"
    __table_args__ = (
        Index("ix_session_transcripts_interview_offset", "interview_id", "offset_ms"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the caption was made
    offset_ms: Mapped[int] = mapped_column(Integer)  # utterance start since the session opened
    duration_ms: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("interview_participants.id", ondelete="SET NULL"), nullable=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    peer_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(3))  # ISO 639-3 of the speech
    text: Mapped[str] = mapped_column(Text)
    # {"spa": {"text", "status", "engine"}, ...}: status "translated", "missing" or "failed".
    translations: Mapped[str] = mapped_column(Text, default="{}")
    confidence: Mapped[float] = mapped_column(Float)
    delayed: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def translated(self) -> dict[str, dict[str, Any]]:
        """The translations as a dict, by ISO 639-3 viewer language."""
        value: dict[str, dict[str, Any]] = json.loads(self.translations)
        return value


def transcript_line(
    interview_id: int,
    caption: Caption,
    at: datetime,
    *,
    participant_id: int | None,
    user_id: int | None,
    peer_id: str,
    name: str,
) -> TranscriptLine:
    """The row for one final caption (the speech language itself is not a translation)."""
    translations = {
        language: {"text": t.text, "status": t.status, "engine": t.engine}
        for language, t in caption.translations.items()
        if t.status != "same"
    }
    return TranscriptLine(
        interview_id=interview_id,
        at=at,
        offset_ms=max(0, round(caption.offset_s * 1000)),
        duration_ms=round(caption.duration_s * 1000),
        participant_id=participant_id,
        user_id=user_id,
        peer_id=peer_id,
        name=name,
        language=caption.language,
        text=caption.text,
        translations=json.dumps(translations, ensure_ascii=False, sort_keys=True),
        confidence=caption.confidence,
        delayed=caption.delayed,
    )


async def transcript(session: AsyncSession, interview_id: int) -> list[TranscriptLine]:
    """A session's transcript in speaking order."""
    rows = await session.scalars(
        select(TranscriptLine)
        .where(TranscriptLine.interview_id == interview_id)
        .order_by(TranscriptLine.offset_ms, TranscriptLine.id)
    )
    return list(rows)
