"""Voice-activity detection and utterance cutting, on spoken fixtures with the real Silero model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from faster_whisper.vad import get_vad_model

from signaling.captions.audio import RATE, Resampler, pcm_frames, upsample_16k_to_48k
from signaling.captions.segmenter import (
    EarlyEnd,
    Partial,
    Resumed,
    Segment,
    Segmenter,
    SegmenterConfig,
    Utterance,
)
from signaling.captions.vad import WINDOW, SileroVad
from tests.captions_models import silence, speech_fixture


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


def segments(vad: SileroVad, pcm: np.ndarray, config: SegmenterConfig) -> list[Segment]:
    """Run 16 kHz int16 audio through a fresh stream, in 20 ms pieces like live audio."""
    stream, segmenter = vad.stream(), Segmenter(config)
    out: list[Segment] = []
    audio = (pcm / 32768).astype(np.float32)
    for start in range(0, len(audio), 320):
        for window, prob in stream.feed(audio[start : start + 320]):
            out.extend(segmenter.push(window, prob))
    out.extend(segmenter.flush())
    return out


def test_streaming_vad_gives_the_same_probabilities_as_faster_whispers_batch_run(
    vad: SileroVad,
) -> None:
    speech, _ = speech_fixture("passport")
    audio = (np.concatenate([silence(0.5), speech, silence(0.5)]) / 32768).astype(np.float32)
    audio = audio[: len(audio) // WINDOW * WINDOW]
    stream = vad.stream()
    streamed = [
        p for start in range(0, len(audio), 700) for _, p in stream.feed(audio[start : start + 700])
    ]
    batch = get_vad_model()(audio)
    assert len(streamed) == len(batch)
    assert np.allclose(streamed, batch.reshape(-1), atol=1e-5)
    assert max(streamed) > 0.9 and min(streamed[:10]) < 0.1  # speech found, silence not


def test_one_sentence_is_one_utterance_starting_just_before_the_speech(vad: SileroVad) -> None:
    speech, _ = speech_fixture("border")
    pcm = np.concatenate([silence(1.0), speech, silence(1.0)])
    found = [
        s
        for s in segments(vad, pcm, SegmenterConfig(interim_every_s=0))
        if isinstance(s, Utterance)
    ]
    assert len(found) == 1
    utterance = found[0]
    # Starts within the 200 ms pre-roll before the speech, ends within a window or two of it.
    assert RATE * 0.75 <= utterance.start_sample <= RATE * 1.0
    speech_end = RATE * 1.0 + len(speech)
    assert abs(utterance.speech_end_sample - speech_end) <= 3 * WINDOW
    assert len(utterance.audio) >= len(speech)


def test_a_pause_longer_than_the_end_silence_separates_two_utterances(vad: SileroVad) -> None:
    first, _ = speech_fixture("safe")
    second, _ = speech_fixture("interview")
    config = SegmenterConfig(end_silence_ms=300, interim_every_s=0)
    apart = np.concatenate([silence(0.5), first, silence(0.6), second, silence(1.0)])
    close = np.concatenate([silence(0.5), first, silence(0.15), second, silence(1.0)])
    assert len([s for s in segments(vad, apart, config) if isinstance(s, Utterance)]) == 2
    assert len([s for s in segments(vad, close, config) if isinstance(s, Utterance)]) == 1


def test_long_speech_is_cut_at_the_bound_and_nothing_is_lost(vad: SileroVad) -> None:
    talk = np.concatenate([speech_fixture(n)[0] for n in ("passport", "family", "farm")])
    pcm = np.concatenate([silence(0.5), talk, silence(1.0)])  # ~13 s without a long pause
    found = [
        s
        for s in segments(vad, pcm, SegmenterConfig(max_utterance_s=5.0, interim_every_s=0))
        if isinstance(s, Utterance)
    ]
    assert len(found) >= 3
    assert all(len(u.audio) <= 5.0 * RATE + WINDOW for u in found)
    # Pieces follow each other without gaps or overlaps until the last one.
    for before, after in itertools.pairwise(found):
        assert after.start_sample == before.start_sample + len(before.audio)


def test_interim_snapshots_grow_while_someone_speaks(vad: SileroVad) -> None:
    speech, _ = speech_fixture("language")  # ~4.7 s
    pcm = np.concatenate([silence(0.5), speech, silence(1.0)])
    found = segments(vad, pcm, SegmenterConfig(interim_every_s=1.0))
    partials = [s for s in found if isinstance(s, Partial)]
    assert len(partials) >= 3
    assert [len(p.audio) for p in partials] == sorted(len(p.audio) for p in partials)
    assert isinstance(found[-1], Utterance)


def test_clicks_and_silence_make_no_utterance(vad: SileroVad) -> None:
    rng = np.random.default_rng(1)
    pcm = silence(3.0)
    pcm[RATE : RATE + 80] = rng.integers(-20000, 20000, 80)  # a 5 ms click
    pcm = pcm + rng.integers(-30, 30, len(pcm)).astype(np.int16)  # faint hiss
    assert segments(vad, pcm, SegmenterConfig()) == []


def test_call_audio_at_48_khz_stereo_is_resampled_to_16_khz_mono() -> None:
    speech, _ = speech_fixture("safe")
    at_48k = upsample_16k_to_48k(speech)
    stereo = np.stack([at_48k, at_48k], axis=1).reshape(-1)
    resampler = Resampler()
    out = [resampler.convert(frame) for frame in pcm_frames(stereo, channels=2)]
    audio = np.concatenate([*out, resampler.drain()])
    assert abs(len(audio) - len(speech)) <= 400  # one 20 ms frame of padding at most
    # Same sound: the resampled signal correlates with the original.
    n = min(len(audio), len(speech))
    correlation = np.corrcoef(audio[:n], speech[:n].astype(np.float32))[0, 1]
    assert correlation > 0.95


def test_an_early_end_carries_exactly_the_audio_of_the_utterance_that_follows(
    vad: SileroVad,
) -> None:
    speech, _ = speech_fixture("border")
    pcm = np.concatenate([silence(0.5), speech, silence(1.0)])
    found = segments(vad, pcm, SegmenterConfig(interim_every_s=0))
    # Pauses inside the sentence may announce (and withdraw) early ends; the last one holds.
    assert [type(s) for s in found[-2:]] == [EarlyEnd, Utterance]
    early, utterance = found[-2:]
    assert isinstance(early, EarlyEnd) and isinstance(utterance, Utterance)
    assert (early.start_sample, early.speech_end_sample) == (
        utterance.start_sample,
        utterance.speech_end_sample,
    )
    assert np.array_equal(early.audio, utterance.audio)


def test_a_pause_between_the_early_end_and_the_end_silence_withdraws_the_early_end(
    vad: SileroVad,
) -> None:
    first, _ = speech_fixture("safe")
    second, _ = speech_fixture("interview")
    pcm = np.concatenate([silence(0.5), first, silence(0.22), second, silence(1.0)])
    config = SegmenterConfig(early_end_ms=120, end_silence_ms=300, interim_every_s=0)
    found = segments(vad, pcm, config)
    kinds = [type(s) for s in found]
    assert kinds.count(Utterance) == 1 and kinds[-1] is Utterance
    assert Resumed in kinds and kinds.index(EarlyEnd) < kinds.index(Resumed)
    utterance = found[-1]
    assert isinstance(utterance, Utterance)
    assert len(utterance.audio) >= len(first) + len(second)
