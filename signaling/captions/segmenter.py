"""Cuts one stream's VAD decisions into utterances (and interim snapshots while speaking).

The rules follow Silero's own `get_speech_timestamps`, made streaming: speech starts at a
window with probability ≥ `threshold`; it ends after `end_silence_ms` of windows below
`threshold - 0.15`; a short dip between words does not end it. Utterances shorter than
`min_speech_ms` are noise and dropped; longer than `max_utterance_s` are cut, at the last
short pause when there was one, so a caption never waits for a long speech to end.

To save latency, `EarlyEnd` announces a likely end after `early_end_ms` of silence, with
exactly the audio the `Utterance` will carry if the silence lasts: recognition can start
~200 ms before the end is certain. If speech resumes first, `Resumed` withdraws it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from signaling.captions.audio import RATE, Samples
from signaling.captions.vad import WINDOW


@dataclass(frozen=True)
class SegmenterConfig:
    """Timing of the cuts, in milliseconds unless said."""

    end_silence_ms: int = 300
    max_utterance_s: float = 12.0
    interim_every_s: float = 1.0  # 0 turns interim snapshots off
    threshold: float = 0.5
    min_speech_ms: int = 250
    pre_roll_ms: int = 200  # audio kept before the first speech window (soft onsets)
    tail_ms: int = 100  # trailing silence kept after the last speech window
    # Silence after which an EarlyEnd is announced (0: never). On the spoken fixtures 128 ms
    # announced 16 early ends for 8 sentences (8 withdrawn: wasted recognitions), 192 ms 11
    # (3 withdrawn), 224 ms 9 (1 withdrawn).
    early_end_ms: int = 200


@dataclass(frozen=True)
class Utterance:
    """A finished stretch of speech: its audio and where it lies in the stream."""

    audio: Samples
    start_sample: int  # first sample of `audio`, counted from the start of the stream
    speech_end_sample: int  # just after the last window judged speech


@dataclass(frozen=True)
class EarlyEnd:
    """Speech has probably ended: the audio and key the Utterance will have if it has."""

    audio: Samples
    start_sample: int
    speech_end_sample: int


@dataclass(frozen=True)
class Resumed:
    """The speech announced as ending by an EarlyEnd went on (or was cut): forget it."""

    start_sample: int


@dataclass(frozen=True)
class Partial:
    """The speech so far of an utterance still going on."""

    audio: Samples
    start_sample: int


Segment = Utterance | Partial | EarlyEnd | Resumed


def _windows(ms: float) -> int:
    return max(1, round(ms * RATE / 1000 / WINDOW))


class Segmenter:
    """Per-stream state machine from (window, probability) to utterances."""

    def __init__(self, config: SegmenterConfig) -> None:
        self.config = config
        self._neg_threshold = max(config.threshold - 0.15, 0.01)
        self._end_windows = _windows(config.end_silence_ms)
        self._tail_windows = min(_windows(config.tail_ms), self._end_windows)
        self._max_windows = _windows(config.max_utterance_s * 1000)
        self._min_speech_windows = _windows(config.min_speech_ms)
        self._interim_windows = (
            _windows(config.interim_every_s * 1000) if config.interim_every_s > 0 else 0
        )
        early = _windows(config.early_end_ms) if config.early_end_ms > 0 else 0
        # Only worth it when it comes before the end, and after the kept tail.
        self._early_windows = early if self._tail_windows <= early < self._end_windows else 0
        self._early_sent = False
        self._pre_roll: deque[Samples] = deque(maxlen=_windows(config.pre_roll_ms))
        self._position = 0  # samples seen so far
        self._speaking = False
        self._buffer: list[Samples] = []
        self._start = 0
        self._last_speech = 0  # windows in buffer up to and including the last speech window
        self._speech_windows = 0
        self._silence_run = 0
        self._last_pause = 0  # buffer length at the end of the latest pause of ≥ 3 windows
        self._since_interim = 0

    @property
    def speaking(self) -> bool:
        """Whether an utterance is under way."""
        return self._speaking

    def push(self, window: Samples, prob: float) -> list[Segment]:
        """Take one window and its speech probability; return what it completes."""
        out: list[Segment] = []
        self._position += WINDOW
        if not self._speaking:
            if prob >= self.config.threshold:
                self._begin(window)
            else:
                self._pre_roll.append(window)
            return out
        self._buffer.append(window)
        self._since_interim += 1
        if prob >= self.config.threshold:
            self._silence_run = 0
            self._last_speech = len(self._buffer)
            self._speech_windows += 1
            if self._early_sent:
                self._early_sent = False
                out.append(Resumed(self._start))
        elif prob < self._neg_threshold or self._silence_run:
            self._silence_run += 1
            if self._silence_run == 3:
                self._last_pause = self._last_speech + 1
            if (
                self._silence_run == self._early_windows
                and self._speech_windows >= self._min_speech_windows
            ):
                self._early_sent = True
                keep = self._last_speech + self._tail_windows
                out.append(
                    EarlyEnd(
                        np.concatenate(self._buffer[:keep]),
                        self._start,
                        self._start + self._last_speech * WINDOW,
                    )
                )
        if self._silence_run >= self._end_windows:
            out.extend(self._finish())
        elif len(self._buffer) >= self._max_windows:
            out.extend(self._cut())
        elif self._interim_windows and self._since_interim >= self._interim_windows:
            self._since_interim = 0
            out.append(Partial(np.concatenate(self._buffer), self._start))
        return out

    def flush(self) -> list[Segment]:
        """End of stream: finish the utterance under way, if any."""
        return self._finish() if self._speaking else []

    def _begin(self, window: Samples) -> None:
        self._speaking = True
        self._buffer = [*self._pre_roll, window]
        self._pre_roll.clear()
        self._start = self._position - WINDOW * len(self._buffer)
        self._last_speech = len(self._buffer)
        self._speech_windows = 1
        self._silence_run = 0
        self._last_pause = 0
        self._since_interim = 0

    def _finish(self) -> list[Segment]:
        keep = min(len(self._buffer), self._last_speech + self._tail_windows)
        speech = self._speech_windows
        audio = np.concatenate(self._buffer[:keep])
        utterance = Utterance(audio, self._start, self._start + self._last_speech * WINDOW)
        # The silence after the utterance primes the next one's pre-roll.
        for window in self._buffer[keep:]:
            self._pre_roll.append(window)
        self._speaking = False
        self._buffer = []
        self._early_sent = False
        return [utterance] if speech >= self._min_speech_windows else []

    def _cut(self) -> list[Segment]:
        withdrawn: list[Segment] = [Resumed(self._start)] if self._early_sent else []
        self._early_sent = False
        # Prefer the latest pause in the second half; else cut hard at the bound.
        at = self._last_pause if self._last_pause > len(self._buffer) // 2 else len(self._buffer)
        head, rest = self._buffer[:at], self._buffer[at:]
        utterance = Utterance(
            np.concatenate(head), self._start, self._start + min(self._last_speech, at) * WINDOW
        )
        self._start += at * WINDOW
        self._buffer = rest
        self._last_speech = max(0, self._last_speech - at)
        self._speech_windows = len(rest)
        self._last_pause = 0
        self._since_interim = 0
        if not rest:
            self._speaking = False
        return [*withdrawn, utterance]
