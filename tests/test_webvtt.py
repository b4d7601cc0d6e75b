"""WebVTT from transcript cues, read back by a real WebVTT parser (webvtt-py)."""

from __future__ import annotations

import html

import pytest
import webvtt
from hypothesis import given
from hypothesis import strategies as st

from interviews.webvtt import Cue, cues_from_transcript, escape_text, render, timestamp


def parse(text: str) -> webvtt.WebVTT:
    """Strict parse: a malformed cue block raises instead of being skipped."""
    return webvtt.from_string(text, strict=True)


def test_cues_read_back_with_speakers_times_and_translations() -> None:
    cues = [
        Cue(1200, 2300, "Ana López", "Good morning. What is your name?", "Buenos días."),
        Cue(4000, 1500, "Detenido <A&B>", "My name is --> Ravi & <b>not</b> bold"),
        Cue(3_723_004, 999, "Ravi", "Line one\n\n\nline   two"),
    ]
    parsed = parse(render(cues, title="Interview TAP-2026-0001"))

    assert len(parsed) == 3
    first, second, third = parsed
    assert (first.start, first.end) == ("00:00:01.200", "00:00:03.500")
    assert first.voice == "Ana López"
    assert first.identifier == "1"
    assert first.text.splitlines() == ["Good morning. What is your name?", "Buenos días."]
    assert "<c.translation>Buenos días.</c>" in first.raw_text

    # "-->" and tag delimiters in text and speaker come back as text, not as markup.
    assert html.unescape(second.voice) == "Detenido <A&B>"
    assert html.unescape(second.text) == "My name is --> Ravi & <b>not</b> bold"
    assert "-->" not in second.raw_text

    # Past an hour; blank lines folded so they cannot end the cue early.
    assert third.start == "01:02:03.004"
    assert third.text.splitlines() == ["Line one", "line two"]


def test_cues_come_out_in_start_order_and_never_end_before_they_start() -> None:
    parsed = parse(render([Cue(5000, 0, "B", "later"), Cue(-10, 100, "A", "first")]))
    assert [c.text for c in parsed] == ["first", "later"]
    assert parsed[0].start == "00:00:00.000"
    assert parsed[1].start_time < parsed[1].end_time


def test_notes_are_kept_as_comments_and_refused_when_they_would_break_the_file() -> None:
    text = render([Cue(0, 1000, "A", "hello")], notes=['consulink-seal {"a":1}', "two\nlines"])
    parsed = parse(text)
    assert parsed.header_comments == ['consulink-seal {"a":1}', "two\nlines"]
    assert len(parsed) == 1
    with pytest.raises(ValueError, match="-->"):
        render([], notes=["a --> b"])
    with pytest.raises(ValueError, match="blank line"):
        render([], notes=["a\n\nb"])


def test_cues_from_summary_transcript_take_the_asked_translation() -> None:
    lines = [
        {"offset_ms": 0, "duration_ms": 900, "speaker": "Consul", "language": "eng",
         "text": "Hello", "translations": {"spa": "Hola"}},
        {"offset_ms": 1000, "duration_ms": 900, "speaker": "Staff", "language": "spa",
         "text": "Hola", "translations": {"eng": "Hello"}},
    ]  # fmt: skip
    cues = cues_from_transcript(lines, "spa")
    assert cues[0].translation == "Hola"
    assert cues[1].translation is None  # already in Spanish
    assert cues_from_transcript(lines)[0].translation is None


def test_timestamps() -> None:
    assert timestamp(0) == "00:00:00.000"
    assert timestamp(59_999) == "00:00:59.999"
    assert timestamp(100 * 3_600_000) == "100:00:00.000"
    assert escape_text("a<b>&c") == "a&lt;b&gt;&amp;c"


# Any printable text (no control characters or surrogates, which are not transcript text).
_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=60)


@given(
    speaker=_text,
    text=_text.filter(lambda t: t.strip()),
    translation=st.none() | _text.filter(lambda t: t.strip()),
    offset=st.integers(0, 10 * 3_600_000),
    duration=st.integers(0, 60_000),
)
def test_any_text_reads_back_as_written(
    speaker: str, text: str, translation: str | None, offset: int, duration: int
) -> None:
    parsed = parse(render([Cue(offset, duration, speaker, text, translation)]))
    assert len(parsed) == 1
    (cue,) = parsed
    assert cue.start_time.in_milliseconds() == offset
    assert cue.end_time.in_milliseconds() == offset + max(1, duration)
    # Words come back in order; runs of blanks and line breaks may be folded.
    assert " ".join(html.unescape(cue.voice or "").split()) == (" ".join(speaker.split()) or "?")
    read = " ".join(html.unescape(cue.text).split())
    assert read == " ".join(f"{text} {translation or ''}".split())
