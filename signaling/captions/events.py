"""What the pipeline emits: final captions, interim text and status notices.

Plain objects (storing final captions for the session summary is the summary issue's job).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Translation:
    """One caption's text in one viewer language, or the original with a notice."""

    language: str
    text: str
    # "translated"; "same" (the speech is already in this language); "missing" (no model
    # for the pair: the text is the original); "failed" (the engine failed: the original).
    status: str
    # Which engine produced it: "argos", "apertium", or "argos+apertium" through English.
    engine: str | None = None
    notice: str | None = None  # for viewers, when the text is not a translation


@dataclass(frozen=True)
class Caption:
    """A final caption: what one speaker said in one utterance, and its translations."""

    session_id: str
    speaker: str
    language: str  # ISO 639-3 of the speech
    offset_s: float  # start of the utterance, seconds since the session started
    duration_s: float
    text: str
    confidence: float  # 0..1, from the recogniser's average log-probability
    translations: dict[str, Translation] = field(default_factory=dict)
    # True when the caption waited for a recognition worker longer than the configured bound.
    delayed: bool = False
    machine_output: bool = True


@dataclass(frozen=True)
class InterimCaption:
    """Text recognised so far while someone is still speaking (not translated)."""

    session_id: str
    speaker: str
    language: str
    offset_s: float
    text: str


@dataclass(frozen=True)
class CaptionStatus:
    """A notice for a session's viewers: captions delayed, caught up, speech not captioned."""

    session_id: str
    kind: str  # "delayed", "caught_up", "dropped", "unsupported_language"
    message: str
    speaker: str | None = None


CaptionEvent = Caption | InterimCaption | CaptionStatus
