"""Live captions end to end with the real tiny.en model: call audio in, captions out.

Audio enters as the av.AudioFrames aiortc yields (48 kHz, s16, 20 ms); captions come back
on the event loop with their translations. Recognition quality is checked as word error
rate on the spoken fixtures (scripts/make-speech-fixtures).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from signaling.captions.apertium import ApertiumEngine
from signaling.captions.config import APERTIUM_MODES_DIR, CaptionConfig
from signaling.captions.events import Caption, CaptionEvent, CaptionStatus, InterimCaption
from signaling.captions.pipeline import CaptionService
from signaling.captions.recognizer import Recognizer
from tests.captions_models import (
    call_audio,
    fixture_names,
    silence,
    speech_fixture,
    word_errors,
    words,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    """The packaged tiny.en, loaded once for the module (as the app loads it once)."""
    shared = Recognizer("", cpu_threads=2)
    shared.load()
    return shared


@pytest.fixture
async def service(recognizer: Recognizer, tmp_path: Path) -> AsyncIterator[CaptionService]:
    config = CaptionConfig(argos_packages_dir=tmp_path / "argos", interim_every_s=0)
    captions = CaptionService(config, recognizer=recognizer)
    await captions.start()
    yield captions
    await captions.close()


class Collector:
    """Receives a session's events on the loop, and can wait for a condition on them."""

    def __init__(self) -> None:
        self.events: list[CaptionEvent] = []
        self.threads: set[int] = set()
        self._changed = asyncio.Event()

    def __call__(self, event: CaptionEvent) -> None:
        self.threads.add(threading.get_ident())
        self.events.append(event)
        self._changed.set()

    def captions(self) -> list[Caption]:
        return [e for e in self.events if isinstance(e, Caption)]

    async def wait_for(self, done: Callable[[Collector], bool]) -> None:
        # Bounded: a pipeline that never delivers fails the test instead of hanging it.
        async with asyncio.timeout(60):
            while not done(self):
                self._changed.clear()
                await self._changed.wait()


def test_tiny_en_recognises_the_spoken_fixtures(recognizer: Recognizer) -> None:
    errors = total = 0
    for name in fixture_names():
        speech, text = speech_fixture(name)
        audio = (np.concatenate([silence(0.2), speech, silence(0.2)]) / 32768).astype(np.float32)
        result = recognizer.recognize(audio, "eng")
        errors += word_errors(text, result.text)
        total += len(words(text))
        assert 0 < result.confidence <= 1
    assert errors / total <= 0.10, f"word error rate {errors / total:.1%}"


async def test_a_speaker_is_captioned_and_translated_for_each_viewer(
    service: CaptionService,
) -> None:
    names = ["passport", "border", "safe"]
    pieces, starts, position = [silence(0.5)], [], 0.5
    for name in names:
        speech, _ = speech_fixture(name)
        starts.append(position)
        pieces += [speech, silence(0.8)]
        position += (len(speech) + 0.8 * 16_000) / 16_000
    collector = Collector()
    session = service.open_session("interview-1", collector, languages={"spa", "hin", "eng"})
    stream = session.add_speaker("detained-person", "eng", offset_s=12.0)

    loop_thread = threading.get_ident()
    recognition_threads: set[int] = set()
    real_recognize = service.recognizer.recognize

    def recognize_and_note_thread(audio: Any, language: str) -> Any:
        recognition_threads.add(threading.get_ident())
        return real_recognize(audio, language)

    service.recognizer.recognize = recognize_and_note_thread  # type: ignore[method-assign]
    # Faster than real time: the utterances queue up (and may be marked delayed).
    for frame in call_audio(pieces):
        stream.push(frame)
    stream.end()
    await collector.wait_for(lambda c: len(c.captions()) == len(names))

    captions = collector.captions()
    errors = sum(
        word_errors(speech_fixture(n)[1], c.text) for n, c in zip(names, captions, strict=True)
    )
    assert errors / sum(len(words(speech_fixture(n)[1])) for n in names) <= 0.10
    apertium = ApertiumEngine(APERTIUM_MODES_DIR)
    try:
        for caption, start in zip(captions, starts, strict=True):
            assert (caption.speaker, caption.language) == ("detained-person", "eng")
            assert caption.offset_s == pytest.approx(12.0 + start, abs=0.3)
            assert 0 < caption.confidence <= 1 and caption.machine_output
            assert set(caption.translations) == {"spa", "hin"}  # not into the speech's own
            spanish = caption.translations["spa"]
            assert (spanish.status, spanish.engine) == ("translated", "apertium")
            assert spanish.text == apertium.translate(caption.text, "eng", "spa")
            hindi = caption.translations["hin"]
            assert (hindi.status, hindi.text) == ("missing", caption.text)
            assert hindi.notice is not None and "Hindi" in hindi.notice
    finally:
        apertium.close()
    # Inference ran on worker threads; events arrived on the event loop.
    assert recognition_threads and loop_thread not in recognition_threads
    assert collector.threads == {loop_thread}


async def test_two_sessions_share_one_model_and_keep_their_captions_apart(
    service: CaptionService,
) -> None:
    model = service.recognizer._model
    first, second = Collector(), Collector()
    one = service.open_session("room-a", first).add_speaker("consul", "eng")
    two = service.open_session("room-b", second).add_speaker("officer", "eng")
    speech_a, text_a = speech_fixture("family")
    speech_b, text_b = speech_fixture("interview")
    # Interleave the frames as two live calls would arrive.
    frames_a = call_audio([silence(0.3), speech_a, silence(0.6)])
    frames_b = call_audio([silence(0.3), speech_b, silence(0.6)])
    for index in range(max(len(frames_a), len(frames_b))):
        if index < len(frames_a):
            one.push(frames_a[index])
        if index < len(frames_b):
            two.push(frames_b[index])
    await first.wait_for(lambda c: len(c.captions()) == 1)
    await second.wait_for(lambda c: len(c.captions()) == 1)
    assert word_errors(text_a, first.captions()[0].text) <= 1
    assert word_errors(text_b, second.captions()[0].text) <= 1
    assert first.captions()[0].session_id == "room-a"
    assert second.captions()[0].speaker == "officer"
    assert service.recognizer._model is model  # loaded once, shared


async def test_interim_text_shows_while_someone_speaks_then_the_final_replaces_it(
    recognizer: Recognizer, tmp_path: Path
) -> None:
    config = CaptionConfig(argos_packages_dir=tmp_path, interim_every_s=1.0)
    service = CaptionService(config, recognizer=recognizer)
    await service.start()
    try:
        collector = Collector()
        stream = service.open_session("live", collector).add_speaker("interpreter", "eng")
        speech, text = speech_fixture("language")  # ~4.7 s of speech
        # Real time: 20 ms frames 20 ms apart, as a call delivers them.
        for frame in call_audio([silence(0.3), speech, silence(0.6)]):
            stream.push(frame)
            await asyncio.sleep(0.02)
        await collector.wait_for(lambda c: len(c.captions()) == 1)
    finally:
        await service.close()
    kinds = [type(e) for e in collector.events]
    assert InterimCaption in kinds
    assert kinds.index(Caption) == len(kinds) - 1  # nothing after the final
    interims = [e for e in collector.events if isinstance(e, InterimCaption)]
    # Each interim is a beginning of the sentence.
    assert words(text)[:2] == words(interims[-1].text)[:2]
    assert word_errors(text, collector.captions()[0].text) <= 1


async def test_a_language_the_model_cannot_recognise_is_announced_not_guessed(
    service: CaptionService,
) -> None:
    collector = Collector()
    session = service.open_session("room-hi", collector)
    stream = session.add_speaker("person", "hin")  # tiny.en knows only English
    speech, _ = speech_fixture("safe")
    for frame in call_audio([speech, silence(0.6)]):
        stream.push(frame)
    stream.end()
    await collector.wait_for(lambda c: len(c.events) >= 1)
    await asyncio.sleep(0.5)  # room for a wrongly queued caption to show up
    assert len(collector.events) == 1
    status = collector.events[0]
    assert isinstance(status, CaptionStatus)
    assert status.kind == "unsupported_language" and "Hindi" in status.message


async def test_a_server_without_a_speech_model_runs_sessions_and_says_there_are_no_captions(
    tmp_path: Path,
) -> None:
    config = CaptionConfig(argos_packages_dir=tmp_path, speech_model=str(tmp_path / "nowhere"))
    service = CaptionService(config)
    await service.start()
    try:
        collector = Collector()
        stream = service.open_session("room", collector).add_speaker("person", "eng")
        speech, _ = speech_fixture("safe")
        for frame in call_audio([speech, silence(0.6)]):
            stream.push(frame)
        await collector.wait_for(lambda c: len(c.events) >= 1)
    finally:
        await service.close()
    status = collector.events[0]
    assert isinstance(status, CaptionStatus) and "No speech model" in status.message
    assert len(collector.events) == 1
