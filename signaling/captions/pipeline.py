"""The caption service: frames in, caption events out, on the event loop.

    service = CaptionService(config)            # one per app; models load on first use
    await service.start()
    session = service.open_session("room-1", on_event, languages={"spa"})
    stream = session.add_speaker("alice", "eng", offset_s=0.0)
    stream.push(frame)                          # each decoded av.AudioFrame, on the loop
    ...
    await service.close()

`push` resamples and runs VAD inline (~0.1 ms per 20 ms frame); recognition and translation
run in worker threads and their results come back through `loop.call_soon_threadsafe`, so
`on_event` is always called on the event loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import av

from interviews.codes import language_name
from signaling.captions.apertium import ApertiumEngine
from signaling.captions.argos import ArgosEngine
from signaling.captions.audio import RATE, Resampler, Samples
from signaling.captions.config import CaptionConfig
from signaling.captions.events import Caption, CaptionEvent, CaptionStatus, InterimCaption
from signaling.captions.languages import iso3
from signaling.captions.recognizer import Recognition, Recognizer
from signaling.captions.scheduler import Job
from signaling.captions.segmenter import (
    EarlyEnd,
    Partial,
    Resumed,
    Segment,
    Segmenter,
    SegmenterConfig,
    Utterance,
)
from signaling.captions.speech_models import SpeechModelMissing
from signaling.captions.translation import TranslationEngine, Translator
from signaling.captions.vad import SileroVad
from signaling.captions.workers import CaptionWorkers

log = logging.getLogger(__name__)

EventHandler = Callable[[CaptionEvent], None]


def build_translator(config: CaptionConfig) -> Translator:
    """Argos first (when a package is installed for a pair), then Apertium."""
    engines: list[TranslationEngine] = [
        ArgosEngine(config.argos_packages_dir, cpu_threads=config.cpu_threads),
        ApertiumEngine(config.apertium_modes_dir),
    ]
    return Translator(engines, config.engine_choices)


class CaptionService:
    """Shared models and workers for every session's captions."""

    def __init__(
        self,
        config: CaptionConfig,
        *,
        recognizer: Recognizer | None = None,
        translator: Translator | None = None,
    ) -> None:
        self.config = config
        interims = config.interim_every_s > 0
        self.recognizer = recognizer or Recognizer(
            config.speech_model,
            cpu_threads=config.cpu_threads,
            # One model worker per recognition thread, so they truly run in parallel.
            workers=config.recognition_workers + (1 if interims else 0),
            max_new_tokens=config.max_new_tokens,
        )
        self.translator = translator or build_translator(config)
        self.segmenter_config = SegmenterConfig(
            end_silence_ms=config.end_silence_ms,
            max_utterance_s=config.max_utterance_s,
            interim_every_s=config.interim_every_s,
            early_end_ms=config.early_end_ms,
        )
        self.workers = CaptionWorkers(
            recognition_threads=config.recognition_workers,
            translation_threads=config.translation_workers,
            per_session=config.queue_per_session,
            on_drop=self._dropped,
            interim_thread=interims,
        )
        self._vad: SileroVad | None = None
        self._sessions: dict[str, CaptionSession] = {}
        self._started = False

    @property
    def vad(self) -> SileroVad:
        """The shared Silero model (loaded on first use: ~20 ms)."""
        if self._vad is None:
            self._vad = SileroVad()
        return self._vad

    async def start(self) -> None:
        """Start the worker threads."""
        if not self._started:
            self.workers.start()
            self._started = True

    async def warm_up(self) -> None:
        """Load the speech model now, in a thread, instead of on the first utterance."""
        await asyncio.get_running_loop().run_in_executor(None, self.recognizer.load)

    def open_session(
        self, session_id: str, on_event: EventHandler, languages: Iterable[str] = ()
    ) -> CaptionSession:
        """Start captioning a session; `on_event` gets its events on this event loop."""
        if session_id in self._sessions:
            raise ValueError(f"captions for session {session_id!r} are already open")
        session = CaptionSession(self, session_id, on_event, asyncio.get_running_loop())
        session.set_languages(languages)
        self._sessions[session_id] = session
        return session

    def _forget(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        self.workers.cancel_session(session_id)

    def _dropped(self, job: Job) -> None:
        session = self._sessions.get(job.session_id)
        if session is not None and job.final:
            session.emit(
                CaptionStatus(
                    job.session_id,
                    "dropped",
                    "Captions fell behind: some speech was not captioned.",
                    speaker=job.speaker,
                )
            )

    async def close(self) -> None:
        """Close every session, stop the workers and engines (waits in a thread)."""
        for session in list(self._sessions.values()):
            session.close()
        if self._started:
            await asyncio.get_running_loop().run_in_executor(None, self.workers.stop)
        await asyncio.get_running_loop().run_in_executor(None, self.translator.close)


class CaptionSession:
    """One live session's speakers and the languages its viewers read."""

    def __init__(
        self,
        service: CaptionService,
        session_id: str,
        on_event: EventHandler,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.service = service
        self.session_id = session_id
        self._on_event = on_event
        self._loop = loop
        self._languages: frozenset[str] = frozenset()
        self._speakers: dict[str, SpeakerStream] = {}
        self._delayed = False
        self._lock = threading.Lock()
        self.closed = False

    @property
    def languages(self) -> frozenset[str]:
        """Viewer languages (ISO 639-3) every final caption is translated into."""
        return self._languages

    def set_languages(self, languages: Iterable[str]) -> None:
        """Change the viewer languages (applies to captions not yet translated)."""
        self._languages = frozenset(iso3(code) for code in languages)

    def add_speaker(self, speaker: str, language: str, *, offset_s: float = 0.0) -> SpeakerStream:
        """A stream for one participant's audio; `offset_s` is when it starts in the session."""
        stream = SpeakerStream(self, speaker, iso3(language), offset_s)
        self._speakers[speaker] = stream
        return stream

    def emit(self, event: CaptionEvent) -> None:
        """Deliver an event on the event loop (callable from any thread)."""
        if self.closed:
            return
        # RuntimeError: the loop is closed, so nobody is left to read captions.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: CaptionEvent) -> None:
        if not self.closed:
            self._on_event(event)

    def note_wait(self, waited_s: float) -> bool:
        """Record how long a final waited for a worker; True when it counts as delayed."""
        delayed = waited_s > self.service.config.delayed_after_s
        with self._lock:
            changed = delayed != self._delayed
            self._delayed = delayed
        if changed and delayed:
            self.emit(
                CaptionStatus(
                    self.session_id,
                    "delayed",
                    f"Captions are running about {waited_s:.0f} s behind the speech.",
                )
            )
        elif changed:
            self.emit(CaptionStatus(self.session_id, "caught_up", "Captions have caught up."))
        return delayed

    def close(self) -> None:
        """Stop captioning: pending work is dropped and no more events are delivered."""
        self.closed = True
        self.service._forget(self.session_id)


@dataclass(eq=False)
class _Early:
    """A recognition started at an EarlyEnd; its caption goes out once the end is confirmed."""

    segment: EarlyEnd
    lock: threading.Lock = field(default_factory=threading.Lock)
    recognition: Recognition | None = None
    waited: float = 0.0
    confirmed: bool = False
    withdrawn: bool = False

    def matches(self, utterance: Utterance) -> bool:
        return (self.segment.start_sample, self.segment.speech_end_sample) == (
            utterance.start_sample,
            utterance.speech_end_sample,
        )


class SpeakerStream:
    """One participant's audio: resampling, VAD and segmentation, run where frames arrive."""

    def __init__(self, session: CaptionSession, speaker: str, language: str, offset_s: float):
        self.session = session
        self.speaker = speaker
        self.language = language
        self.offset_s = offset_s
        service = session.service
        self._resampler = Resampler()
        self._segmenter = Segmenter(service.segmenter_config)
        self._vad = service.vad.stream()
        self._sequence = 0  # number of finals queued so far
        self._early: _Early | None = None
        try:
            self.supported = service.recognizer.supports(language)
            problem = (
                f"The speech model cannot recognise {language_name(language)}; "
                "no captions for this speaker."
            )
        except SpeechModelMissing as error:
            # A server without a speech model still runs its sessions, without captions.
            log.error("captions unavailable: %s", error)
            self.supported = False
            problem = "No speech model is installed on the server; no captions."
        if not self.supported:
            session.emit(
                CaptionStatus(session.session_id, "unsupported_language", problem, speaker=speaker)
            )

    def push(self, frame: av.AudioFrame) -> None:
        """Take one decoded frame (any rate or layout); queue what it completes."""
        if not self.supported or self.session.closed:
            return
        self._feed(self._resampler.convert(frame))

    def end(self) -> None:
        """The participant stopped sending: finish the utterance under way."""
        if not self.supported or self.session.closed:
            return
        self._feed(self._resampler.drain())
        for segment in self._segmenter.flush():
            self._queue(segment)

    def _feed(self, samples: Samples) -> None:
        for window, prob in self._vad.feed(samples):
            for segment in self._segmenter.push(window, prob):
                self._queue(segment)

    def _queue(self, segment: Segment) -> None:
        workers = self.session.service.workers
        if isinstance(segment, EarlyEnd):
            # Start early only when it delays nobody: speculative work must not cost others.
            if workers.idle():
                self._early = _Early(segment)
                workers.submit(self._job(True, self._recognize_early, self._early))
            return
        if isinstance(segment, Resumed):
            if self._early is not None:
                with self._early.lock:
                    self._early.withdrawn = True
                self._early = None
            return
        if isinstance(segment, Partial):
            workers.submit(self._job(False, self._recognize, segment))
            return
        self._sequence += 1
        early, self._early = self._early, None
        if early is not None and early.matches(segment):
            with early.lock:
                early.confirmed = True
                recognition = early.recognition
            if recognition is not None:  # already recognised: caption now
                self._caption(recognition, early.segment, early.waited)
            return
        workers.submit(self._job(True, self._recognize, segment))

    def _job(self, final: bool, run: Callable[[Job], None], context: object) -> Job:
        return Job(
            session_id=self.session.session_id,
            speaker=self.speaker,
            final=final,
            run=run,
            sequence=self._sequence if final else self._sequence + 1,
            context=context,
        )

    def _recognize_early(self, job: Job) -> None:
        """Worker thread: recognise an utterance that has probably ended."""
        early: _Early = job.context
        if self.session.closed or early.withdrawn:
            return
        waited = time.monotonic() - job.enqueued_at
        recognition = self.session.service.recognizer.recognize(early.segment.audio, self.language)
        with early.lock:
            early.recognition, early.waited = recognition, waited
            confirmed = early.confirmed and not early.withdrawn
        if confirmed:  # the end was confirmed while we were recognising
            self._caption(recognition, early.segment, waited)

    def _recognize(self, job: Job) -> None:
        """Worker thread: recognise an utterance (or an interim snapshot)."""
        session, segment = self.session, job.context
        if session.closed:
            return
        if not job.final and self._sequence >= job.sequence:
            return  # its utterance already ended: the final replaces this interim
        waited = time.monotonic() - job.enqueued_at
        recognition = session.service.recognizer.recognize(segment.audio, self.language)
        if not job.final:
            if recognition.text and self._sequence < job.sequence:
                offset = round(self.offset_s + segment.start_sample / RATE, 3)
                session.emit(
                    InterimCaption(
                        session.session_id, self.speaker, self.language, offset, recognition.text
                    )
                )
            return
        self._caption(recognition, segment, waited)

    def _caption(
        self, recognition: Recognition, segment: Utterance | EarlyEnd, waited: float
    ) -> None:
        """Hand a final recognition to the translation pool (from a worker or the loop)."""
        if not recognition.text or self.session.closed:
            return
        delayed = self.session.note_wait(waited)
        offset = round(self.offset_s + segment.start_sample / RATE, 3)
        duration = round(len(segment.audio) / RATE, 3)
        self.session.service.workers.translation.submit(
            self._translate, offset, duration, recognition.text, recognition.confidence, delayed
        )

    def _translate(
        self, offset: float, duration: float, text: str, confidence: float, delayed: bool
    ) -> None:
        """Translation thread: one translation per viewer language, then the caption."""
        session = self.session
        if session.closed:
            return
        translator = session.service.translator
        translations = {
            target: translator.translate(text, self.language, target)
            for target in sorted(session.languages - {self.language})
        }
        session.emit(
            Caption(
                session_id=session.session_id,
                speaker=self.speaker,
                language=self.language,
                offset_s=offset,
                duration_s=duration,
                text=text,
                confidence=confidence,
                translations=translations,
                delayed=delayed,
            )
        )
