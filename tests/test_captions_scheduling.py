"""Sharing recognition between sessions when it cannot keep up: turns, dropping, delay notices.

These tests check SCHEDULING ONLY. Where a recogniser is needed, `GatedRecognizer` stands
in for whisper so the test decides when recognition finishes; everything else (frames,
resampling, Silero VAD, segmentation, queues, worker threads, translation, delivery on the
loop) is real. Recognition itself is always tested with the real model, in
test_captions_pipeline.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from signaling.captions.config import CaptionConfig
from signaling.captions.events import Caption, CaptionEvent, CaptionStatus, InterimCaption
from signaling.captions.pipeline import CaptionService
from signaling.captions.recognizer import Recognition, Recognizer
from signaling.captions.scheduler import FairQueue, Job
from tests.captions_models import call_audio, silence, speech_fixture


def job(session: str, *, final: bool = True, speaker: str = "s", at: float = 0.0) -> Job:
    return Job(session, speaker, final, run=lambda _job: None, enqueued_at=at)


def test_sessions_take_turns_so_a_busy_one_cannot_starve_another() -> None:
    queue = FairQueue(per_session=10)
    busy = [job("busy") for _ in range(4)]
    quiet = job("quiet")
    for item in [*busy, quiet]:
        assert queue.put(item) == []
    order = [queue.take(now=0)[0] for _ in range(5)]
    assert order == [busy[0], quiet, busy[1], busy[2], busy[3]]
    assert queue.take(now=0) == (None, [])


def test_interims_give_way_to_finals_and_only_the_newest_is_kept() -> None:
    queue = FairQueue(per_session=10)
    first, newer = job("a", final=False), job("a", final=False)
    assert queue.put(first) == []
    assert queue.put(newer) == [first]  # the newer snapshot replaces the older
    final = job("a")
    assert queue.put(final) == [newer]  # a final supersedes its speaker's interim
    late = job("a", final=False)
    assert queue.put(late) == [late]  # refused while finals wait
    other = job("b", final=False)
    assert queue.put(other) == []
    assert queue.take(now=0)[0] is final  # finals of any session before any interim
    assert queue.take(now=0)[0] is other


def test_a_full_session_drops_its_oldest_final_and_stale_interims_are_skipped() -> None:
    queue = FairQueue(per_session=2, interim_max_age_s=1.5)
    one, two, three = job("a"), job("a"), job("a")
    queue.put(one)
    queue.put(two)
    assert queue.put(three) == [one]
    assert [queue.take(now=0)[0], queue.take(now=0)[0]] == [two, three]
    stale = job("b", final=False, at=0.0)
    queue.put(stale)
    assert queue.take(now=5.0) == (None, [stale])


class GatedRecognizer(Recognizer):
    """Stand-in for whisper (scheduling tests only): answers when the test opens the gate."""

    def __init__(self, *, only_first: bool = False) -> None:
        super().__init__("", cpu_threads=1)
        self.gate = threading.Event()
        self.only_first = only_first  # hold only the first call; answer later ones at once
        self.calls = 0
        self.entered = threading.Semaphore(0)  # released once per recognition started

    def supports(self, language: str) -> bool:
        return language == "eng"

    def load(self) -> None:
        return None

    def recognize(self, audio: Any, language: str) -> Recognition:
        self.calls += 1
        self.entered.release()
        if (self.calls == 1 or not self.only_first) and not self.gate.wait(timeout=30):
            raise TimeoutError("the test never opened the gate")
        return Recognition(f"{len(audio)} samples", 0.9, -0.1, 0.01, 0.0)


class Events:
    """Every session's events in arrival order, tagged by session."""

    def __init__(self) -> None:
        self.all: list[CaptionEvent] = []
        self._changed = asyncio.Event()

    def handler(self) -> Callable[[CaptionEvent], None]:
        def handle(event: CaptionEvent) -> None:
            self.all.append(event)
            self._changed.set()

        return handle

    def captions(self) -> list[Caption]:
        return [e for e in self.all if isinstance(e, Caption)]

    def statuses(self, kind: str) -> list[CaptionStatus]:
        return [e for e in self.all if isinstance(e, CaptionStatus) and e.kind == kind]

    async def until_captions(self, count: int) -> None:
        async with asyncio.timeout(30):
            while len(self.captions()) < count:
                self._changed.clear()
                await self._changed.wait()


def utterances(count: int, *, gap: float = 0.6) -> list[Any]:
    """`count` short sentences separated by pauses that end an utterance."""
    speech, _ = speech_fixture("safe")
    pieces: list[np.ndarray] = [silence(0.3)]
    for _ in range(count):
        pieces += [speech, silence(gap)]
    return call_audio(pieces)


async def running(gated: GatedRecognizer) -> None:
    """Wait until the worker has started a recognition (so later jobs must queue)."""
    assert await asyncio.to_thread(gated.entered.acquire, timeout=10)


@pytest.fixture
def gated() -> GatedRecognizer:
    return GatedRecognizer()


async def service_with(
    gated: GatedRecognizer, tmp_path: Path, **config: Any
) -> AsyncIterator[CaptionService]:
    # Early starts (tested on their own below) would add recognitions to every count here.
    settings = {"interim_every_s": 0.0, "early_end_ms": 0, **config}
    service = CaptionService(
        CaptionConfig(argos_packages_dir=tmp_path, recognition_workers=1, **settings),
        recognizer=gated,
    )
    await service.start()
    try:
        yield service
    finally:
        gated.gate.set()
        await service.close()


async def test_a_quiet_session_is_captioned_before_a_busy_ones_backlog(
    gated: GatedRecognizer, tmp_path: Path
) -> None:
    async for service in service_with(gated, tmp_path):
        events = Events()
        busy = service.open_session("busy", events.handler()).add_speaker("a", "eng")
        quiet = service.open_session("quiet", events.handler()).add_speaker("b", "eng")
        first, rest = utterances(1), utterances(3)
        for frame in first:
            busy.push(frame)
        await running(gated)
        for frame in rest:
            busy.push(frame)
        for frame in utterances(1):
            quiet.push(frame)
        gated.gate.set()
        await events.until_captions(5)
        assert [c.session_id for c in events.captions()] == [
            "busy",
            "quiet",
            "busy",
            "busy",
            "busy",
        ]


async def test_late_captions_are_marked_delayed_and_viewers_told_when_they_catch_up(
    gated: GatedRecognizer, tmp_path: Path
) -> None:
    async for service in service_with(gated, tmp_path, delayed_after_s=0.05):
        events = Events()
        stream = service.open_session("s", events.handler()).add_speaker("a", "eng")
        for frame in utterances(1):
            stream.push(frame)
        await running(gated)
        for frame in utterances(1):
            stream.push(frame)
        await asyncio.sleep(0.3)  # the second utterance waits behind the first
        gated.gate.set()
        await events.until_captions(2)
        first, second = events.captions()
        assert not first.delayed and second.delayed
        assert len(events.statuses("delayed")) == 1
        assert events.all.index(events.statuses("delayed")[0]) < events.all.index(second)

        for frame in utterances(1):  # recognition keeps up again
            stream.push(frame)
        await events.until_captions(3)
        assert not events.captions()[2].delayed
        assert len(events.statuses("caught_up")) == 1


async def test_when_a_session_falls_too_far_behind_the_oldest_speech_is_dropped_with_a_notice(
    gated: GatedRecognizer, tmp_path: Path
) -> None:
    async for service in service_with(gated, tmp_path, queue_per_session=1):
        events = Events()
        stream = service.open_session("s", events.handler()).add_speaker("a", "eng")
        for frame in utterances(1):
            stream.push(frame)
        await running(gated)
        for frame in utterances(3):
            stream.push(frame)
        gated.gate.set()
        await events.until_captions(2)
        await asyncio.sleep(0.2)  # room for a caption that should not come
        # The first was already running; of the three waiting only the newest survives.
        assert len(events.captions()) == 2
        dropped = events.statuses("dropped")
        assert len(dropped) == 2 and dropped[0].speaker == "a"


async def test_interims_are_dropped_first_when_recognition_falls_behind(
    gated: GatedRecognizer, tmp_path: Path
) -> None:
    async for service in service_with(gated, tmp_path, interim_every_s=0.3):
        events = Events()
        stream = service.open_session("s", events.handler()).add_speaker("a", "eng")
        speech, _ = speech_fixture("language")  # ~4.7 s: many interim snapshots
        for frame in call_audio([silence(0.3), speech, silence(0.6), speech, silence(0.6)]):
            stream.push(frame)
        gated.gate.set()
        await events.until_captions(2)
        await asyncio.sleep(0.2)
        # About 30 interim snapshots were made. At most one reached the recogniser (the one
        # taken while it was idle); the rest were dropped unrecognised, and no interim text
        # was shown once its final had been queued.
        assert 2 <= gated.calls <= 3
        assert not [e for e in events.all if isinstance(e, InterimCaption)]


async def test_a_final_never_waits_for_an_interim_being_recognised(tmp_path: Path) -> None:
    held = GatedRecognizer(only_first=True)
    async for service in service_with(held, tmp_path, interim_every_s=0.5):
        events = Events()
        stream = service.open_session("s", events.handler()).add_speaker("a", "eng")
        speech, _ = speech_fixture("language")
        frames = call_audio([silence(0.3), speech, silence(0.6)])
        middle = len(frames) // 2
        for frame in frames[:middle]:
            stream.push(frame)
        await running(held)  # an interim snapshot is being recognised, and stays so
        for frame in frames[middle:]:
            stream.push(frame)
        await events.until_captions(1)  # the final came through meanwhile
        assert held.calls == 2 and not held.gate.is_set()
        held.gate.set()
        await asyncio.sleep(0.2)
        # The interim finished after its final: its stale text is not shown.
        assert not [e for e in events.all if isinstance(e, InterimCaption)]


async def test_recognition_started_early_is_withdrawn_when_the_speaker_goes_on(
    tmp_path: Path,
) -> None:
    held = GatedRecognizer(only_first=True)
    async for service in service_with(held, tmp_path, early_end_ms=120):
        events = Events()
        stream = service.open_session("s", events.handler()).add_speaker("a", "eng")
        first, _ = speech_fixture("safe")
        second, _ = speech_fixture("interview")
        # A 220 ms pause: long enough to start recognising early, too short to end.
        frames = call_audio([silence(0.3), first, silence(0.22), second, silence(0.6)])
        in_pause = round((0.3 + len(first) / 16_000 + 0.2) / 0.02)
        for frame in frames[:in_pause]:
            stream.push(frame)
        await running(held)  # the first sentence is being recognised early, and stays so
        for frame in frames[in_pause:]:
            stream.push(frame)
        held.gate.set()  # the early recognition of the fragment finishes: withdrawn meanwhile
        await events.until_captions(1)
        await asyncio.sleep(0.3)
        captions = events.captions()
        assert len(captions) == 1  # the fragment was never captioned
        assert captions[0].duration_s * 16_000 >= len(first) + len(second)
        assert held.calls == 2  # the fragment (early), then the whole utterance
