"""WebVTT (the W3C caption format browsers play in <track>) from transcript cues.

A cue is one transcript line: when it starts (milliseconds from the session's opening),
how long it lasts, who spoke, what they said and, optionally, its translation. The file
names the speaker in a voice span (``<v Ana López>``) so players and screen readers can
tell speakers apart, and puts a translation on a second line in a ``translation`` class
span so a page can style or hide it.

Text is escaped the way the WebVTT cue text parser reads it back: ``&``, ``<`` and ``>``
become character references (which also keeps "-->" out of cue text, where it would start
a new cue), and line breaks are folded so a blank line never ends a cue early.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MEDIA_TYPE = "text/vtt"

_BLANK_RUNS = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Cue:
    """One line of a transcript, timed from the start of the session."""

    offset_ms: int
    duration_ms: int
    speaker: str
    text: str
    translation: str | None = None


def timestamp(ms: int) -> str:
    """A WebVTT timestamp, always with hours (hh:mm:ss.ttt; hours grow past two digits)."""
    ms = max(0, int(ms))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def escape_text(text: str) -> str:
    """Cue text as the WebVTT parser reads it back: character references for & < >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _lines(text: str) -> list[str]:
    """Non-empty lines with their inner runs of blanks folded: a blank line ends a cue.

    Splits on every Unicode line boundary, not only CR and LF: some readers split there too.
    """
    lines = (_BLANK_RUNS.sub(" ", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


def _voice(speaker: str) -> str:
    """A voice span annotation: one line, no tag delimiters (it ends at the first '>')."""
    name = " ".join(_lines(speaker)) or "?"
    return escape_text(name)


def cue_block(cue: Cue, identifier: str | None = None) -> str:
    """One cue block (without the blank line that separates blocks)."""
    start = max(0, cue.offset_ms)
    # A cue must end after it starts, or players never show it.
    end = start + max(1, cue.duration_ms)
    text_lines = [escape_text(line) for line in _lines(cue.text)] or [""]
    body = f"<v {_voice(cue.speaker)}>" + "\n".join(text_lines)
    if cue.translation:
        translated = "\n".join(escape_text(line) for line in _lines(cue.translation))
        if translated:
            body += f"\n<c.translation>{translated}</c>"
    body += "</v>"
    head = [identifier] if identifier else []
    return "\n".join([*head, f"{timestamp(start)} --> {timestamp(end)}", body])


def note_block(text: str) -> str:
    """A NOTE block (a comment players ignore). Refuses text that would end or break it."""
    if "-->" in text:
        raise ValueError("a WebVTT NOTE cannot contain '-->'")
    lines = text.splitlines()
    if not lines or any(not line.strip() for line in lines):
        raise ValueError("a WebVTT NOTE cannot contain a blank line")
    return "NOTE " + "\n".join(lines) if len(lines) == 1 else "NOTE\n" + "\n".join(lines)


def render(
    cues: Iterable[Cue],
    *,
    title: str | None = None,
    notes: Sequence[str] = (),
    identifiers: bool = True,
) -> str:
    """A whole WebVTT file: header, NOTE blocks, then the cues in start order.

    WebVTT requires cues in order of their start time; the sort is stable, so lines that
    start together keep the order they were given. Cue identifiers are 1, 2, ... in that
    order unless ``identifiers`` is false.
    """
    header = "WEBVTT"
    if title:
        header += " " + " ".join(_lines(title)).replace("-->", "->")
    blocks = [header, *(note_block(note) for note in notes)]
    ordered = sorted(cues, key=lambda cue: max(0, cue.offset_ms))
    for number, cue in enumerate(ordered, start=1):
        blocks.append(cue_block(cue, str(number) if identifiers else None))
    return "\n\n".join(blocks) + "\n"


def cues_from_transcript(
    transcript: Iterable[Mapping[str, Any]], translation_language: str | None = None
) -> list[Cue]:
    """Cues from the summary document's transcript lines (offset_ms, duration_ms, speaker,
    text, translations by ISO 639-3 language), with the translation into the given
    language when there is one and it differs from the speech language."""
    cues = []
    for line in transcript:
        translation = None
        if translation_language and line.get("language") != translation_language:
            translations = line.get("translations") or {}
            value = translations.get(translation_language)
            translation = value if isinstance(value, str) else None
        cues.append(
            Cue(
                offset_ms=int(line["offset_ms"]),
                duration_ms=int(line["duration_ms"]),
                speaker=str(line.get("speaker") or ""),
                text=str(line.get("text") or ""),
                translation=translation,
            )
        )
    return cues
