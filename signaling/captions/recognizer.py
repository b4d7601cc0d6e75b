"""Speech recognition with faster-whisper, tuned for live captions on a small CPU.

Decoding is greedy at temperature 0 with no fallback (a fallback loop once took 21 s on one
clip), the language is fixed per speaker (auto-detection costs ~0.45 s a call and guesses
wrong on short utterances), output is bounded in tokens and never conditioned on earlier
text (errors would carry over). The model loads once, on first use, and is shared by the
worker threads; `recognize` blocks, so call it from a worker thread, never the event loop.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from signaling.captions.audio import Samples
from signaling.captions.languages import iso1
from signaling.captions.speech_models import SpeechModelInfo, resolve

# Whisper's own rule for "this was not speech" (from openai/whisper's transcribe()).
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0


@dataclass(frozen=True)
class Recognition:
    """What was said, how sure the model is, and what it cost."""

    text: str
    confidence: float  # exp(average token log-probability), 0..1
    avg_logprob: float
    no_speech_prob: float
    seconds: float


class Recognizer:
    """One shared faster-whisper model, loaded lazily and safe to call from several threads."""

    def __init__(
        self, model_setting: str, *, cpu_threads: int, workers: int = 1, max_new_tokens: int = 120
    ) -> None:
        self._setting = model_setting
        self._cpu_threads = cpu_threads
        self._workers = workers
        self._max_new_tokens = max_new_tokens
        self._lock = threading.Lock()
        self._info: SpeechModelInfo | None = None
        self._model: Any = None

    @property
    def info(self) -> SpeechModelInfo:
        """The model folder in use (found on first call; raises SpeechModelMissing)."""
        if self._info is None:
            self._info = resolve(self._setting)
        return self._info

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._model is not None

    def supports(self, language: str) -> bool:
        """Whether the model can recognise speech in this ISO 639-3 language."""
        if self.info.multilingual:
            return iso1(language) is not None
        return language == "eng"

    def load(self) -> None:
        """Load the model now (blocking, once); later calls return at once."""
        with self._lock:
            if self._model is not None:
                return
            # Belt and braces: a folder path never downloads, and neither may anything else.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from faster_whisper import WhisperModel

            self._model = WhisperModel(
                str(self.info.path),
                device="cpu",
                compute_type="int8",
                cpu_threads=self._cpu_threads,
                num_workers=self._workers,
                local_files_only=True,
            )

    def recognize(self, audio: Samples, language: str) -> Recognition:
        """Transcribe one utterance of 16 kHz mono audio spoken in `language` (ISO 639-3)."""
        code = iso1(language)
        if code is None or not self.supports(language):
            raise ValueError(f"speech model {self.info.name} cannot recognise {language!r}")
        self.load()
        started = time.perf_counter()
        segments, _info = self._model.transcribe(
            audio,
            language=code,
            task="transcribe",
            beam_size=1,
            best_of=1,
            temperature=[0.0],
            compression_ratio_threshold=None,
            log_prob_threshold=None,
            no_speech_threshold=None,
            condition_on_previous_text=False,
            without_timestamps=True,
            max_new_tokens=self._max_new_tokens,
            vad_filter=False,
            word_timestamps=False,
        )
        texts, logprob, no_speech, tokens = [], 0.0, 0.0, 0
        for segment in segments:
            weight = max(1, len(segment.tokens))
            texts.append(segment.text.strip())
            logprob += segment.avg_logprob * weight
            no_speech = max(no_speech, segment.no_speech_prob)
            tokens += weight
        avg_logprob = logprob / tokens if tokens else -math.inf
        text = " ".join(t for t in texts if t)
        if no_speech > NO_SPEECH_PROB and avg_logprob < NO_SPEECH_LOGPROB:
            text = ""
        confidence = math.exp(avg_logprob) if tokens else 0.0
        return Recognition(
            text=text,
            confidence=round(min(1.0, max(0.0, confidence)), 3),
            avg_logprob=avg_logprob,
            no_speech_prob=no_speech,
            seconds=time.perf_counter() - started,
        )
