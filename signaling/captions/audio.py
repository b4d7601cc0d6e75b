"""Decoded call audio → 16 kHz mono float32, the rate both Silero VAD and whisper expect."""

from __future__ import annotations

import fractions

import av
import numpy as np
import numpy.typing as npt

RATE = 16_000
Samples = npt.NDArray[np.float32]


class Resampler:
    """Converts one stream's av.AudioFrames (any rate, format or layout) to 16 kHz mono.

    One per stream: the resampler keeps filter state between frames, so audio from two
    speakers must never share one.
    """

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)

    def convert(self, frame: av.AudioFrame) -> Samples:
        """The frame's audio as 16 kHz mono float32 samples (may be empty while priming)."""
        chunks = [out.to_ndarray().reshape(-1) for out in self._resampler.resample(frame)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def drain(self) -> Samples:
        """The samples the resampler still holds at the end of the stream."""
        chunks = [out.to_ndarray().reshape(-1) for out in self._resampler.resample(None)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)


def pcm_frames(
    pcm: npt.NDArray[np.int16], *, rate: int = 48_000, channels: int = 1, frame_ms: int = 20
) -> list[av.AudioFrame]:
    """Cut interleaved s16 PCM into av.AudioFrames like the ones aiortc's Opus decoder yields."""
    per_frame = rate * frame_ms // 1000
    layout = "mono" if channels == 1 else "stereo"
    frames = []
    total = len(pcm) // channels
    for start in range(0, total, per_frame):
        chunk = pcm[start * channels : (start + per_frame) * channels]
        if len(chunk) < per_frame * channels:
            chunk = np.concatenate([chunk, np.zeros(per_frame * channels - len(chunk), np.int16)])
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = fractions.Fraction(1, rate)
        frames.append(frame)
    return frames


def upsample_16k_to_48k(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """A 16 kHz mono recording as 48 kHz (what a browser sends), for tests and benchmarks."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = RATE
    frame.pts = 0
    frame.time_base = fractions.Fraction(1, RATE)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.int16, copy=False)
