"""Live-caption latency, CPU and memory with tiny.en and an Argos-sized translation model.

Feeds the spoken fixtures in real time (20 ms, 48 kHz stereo frames, as aiortc delivers
them) into `CaptionService` and measures, from the moment the last frame of speech is
pushed to the moment the translated caption reaches the event loop:

1. one speaker: latency p50 / p95 (goals ≤ 0.8 s / ≤ 1.5 s), CPU seconds per second of
   speech, time spent on the event loop per frame, resident memory with the models loaded
   (goal ≤ 600 MB);
2. several people speaking at once, in separate sessions, adding one at a time until p95
   passes 3 s.

Translation goes to Spanish through a random-weight Argos-sized model (6+6 layers, d=512,
32k vocabulary, int8 — real Argos dimensions) that never ends a sentence early, so its
timing is a worst case. Prints figures; asserts nothing. Bounded to about 4 minutes.

    .venv/bin/python bench/captions_latency.py
    .venv/bin/python bench/captions_latency.py --interims --max-speakers 4
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signaling.captions.argos import install_package  # noqa: E402
from signaling.captions.config import CaptionConfig  # noqa: E402
from signaling.captions.events import Caption, CaptionEvent  # noqa: E402
from signaling.captions.pipeline import CaptionService  # noqa: E402
from tests.captions_models import (  # noqa: E402
    ARGOS_SIZED,
    build_argosmodel,
    call_audio,
    fixture_names,
    silence,
    speech_fixture,
    word_errors,
    words,
)

FRAME_S = 0.02


class Timings:
    """Seconds each recognition and each translation took (wraps the real calls)."""

    def __init__(self, service: CaptionService) -> None:
        self.recognition: list[float] = []
        self.translation: list[float] = []
        recognize, translate = service.recognizer.recognize, service.translator.translate

        def timed_recognize(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return recognize(*args)
            finally:
                self.recognition.append(time.perf_counter() - started)

        def timed_translate(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return translate(*args)
            finally:
                self.translation.append(time.perf_counter() - started)

        service.recognizer.recognize = timed_recognize  # type: ignore[method-assign,assignment]
        service.translator.translate = timed_translate  # type: ignore[method-assign,assignment]

    def summary(self) -> str:
        def p50(values: list[float]) -> str:
            return f"{statistics.median(values):.2f} s" if values else "-"

        return (
            f"recognition p50 {p50(self.recognition)} ({len(self.recognition)} runs, "
            f"interims included), translation p50 {p50(self.translation)}"
        )


def rss_mb() -> tuple[float, float]:
    """Resident memory now and at its peak, in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Spoken:
    """One fixture as spoken by one speaker: where it lies and when its speech ended."""

    text: str
    start_s: float
    end_s: float
    ended_at: float = 0.0  # monotonic time the last frame of speech was pushed
    captions: list[tuple[float, Caption]] = field(default_factory=list)


class Speaker:
    """Plays fixtures into a session in real time and collects its captions."""

    def __init__(self, service: CaptionService, name: str, fixtures: list[str]) -> None:
        self.spoken: list[Spoken] = []
        self.push_seconds = 0.0
        self.frames = 0
        pieces, position = [silence(0.5)], 0.5
        self.ends: list[int] = []  # frame index after which each fixture's speech has ended
        for fixture in fixtures:
            speech, text = speech_fixture(fixture)
            duration = len(speech) / 16_000
            self.spoken.append(Spoken(text, position, position + duration))
            pieces += [speech, silence(1.2)]
            position += duration + 1.2
            self.ends.append(round((position - 1.2) / FRAME_S) - 1)
        self.audio_frames = call_audio(pieces)
        self.speech_s = sum(s.end_s - s.start_s for s in self.spoken)
        session = service.open_session(name, self.on_event, languages={"spa"})
        self.stream = session.add_speaker(name, "eng")

    def on_event(self, event: CaptionEvent) -> None:
        if isinstance(event, Caption):
            now = time.monotonic()
            middle = event.offset_s + event.duration_s / 2
            for spoken in self.spoken:
                if spoken.start_s - 0.5 <= middle <= spoken.end_s + 0.5:
                    spoken.captions.append((now, event))
                    return

    async def play(self, delay: float) -> None:
        await asyncio.sleep(delay)
        start = time.monotonic()
        ends = dict.fromkeys(self.ends)
        for index, frame in enumerate(self.audio_frames):
            pause = start + index * FRAME_S - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            before = time.perf_counter()
            self.stream.push(frame)
            self.push_seconds += time.perf_counter() - before
            self.frames += 1
            if index in ends:
                self.spoken[self.ends.index(index)].ended_at = time.monotonic()

    def latencies(self) -> list[float]:
        return [s.captions[-1][0] - s.ended_at for s in self.spoken if s.captions]

    def missing(self) -> int:
        return sum(1 for s in self.spoken if not s.captions)

    def word_error_rate(self) -> float:
        errors = sum(
            word_errors(s.text, " ".join(c.text for _, c in s.captions)) for s in self.spoken
        )
        return errors / sum(len(words(s.text)) for s in self.spoken)


async def run(service: CaptionService, speakers: int, fixtures: list[str]) -> list[Speaker]:
    """All speakers at once (staggered a little, as people are), then wait for stragglers."""
    playing = [
        Speaker(service, f"speaker-{i}-{time.monotonic_ns()}", fixtures) for i in range(speakers)
    ]
    await asyncio.gather(*(p.play(i * 0.37) for i, p in enumerate(playing)))
    for _ in range(150):  # up to 15 s for captions still in the queue
        if not any(p.missing() for p in playing):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # let a last split caption arrive
    return playing


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        # Built in a child process, so its numpy arrays do not count in our peak memory.
        with ProcessPoolExecutor(max_workers=1) as child:
            model = child.submit(
                build_argosmodel, Path(work) / "en_es.argosmodel", size=ARGOS_SIZED
            ).result()
        install_package(model, Path(work) / "argos")
        print(
            f"Argos-sized en→es model built and installed in {time.perf_counter() - started:.1f} s"
        )
        config = CaptionConfig(
            argos_packages_dir=Path(work) / "argos",
            cpu_threads=args.threads,
            interim_every_s=1.0 if args.interims else 0.0,
        )
        service = CaptionService(config)
        await service.start()
        await service.warm_up()
        # Load the translation model and Silero too, as the first caption would.
        service.translator.translate("Hello there.", "eng", "spa")
        _ = service.vad
        loaded_rss, _ = rss_mb()
        print(
            f"models: {service.recognizer.info.name} ({service.recognizer.info.path}), "
            f"{args.threads} threads, interims {'every 1 s' if args.interims else 'off'}"
        )
        print(f"resident memory with models loaded: {loaded_rss:.0f} MB (goal ≤ 600 MB)")

        print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        timings = Timings(service)
        cpu_before, wall_before = cpu_seconds(), time.monotonic()
        single = (await run(service, 1, fixture_names()))[0]
        cpu = cpu_seconds() - cpu_before
        wall = time.monotonic() - wall_before
        lat = single.latencies()
        print(f"\none speaker, {len(single.spoken)} utterances, {single.speech_s:.1f} s of speech:")
        print(
            f"  end of speech → translated caption: p50 {statistics.median(lat):.2f} s, "
            f"p95 {percentile(lat, 0.95):.2f} s, max {max(lat):.2f} s "
            "(goals p50 ≤ 0.8 s, p95 ≤ 1.5 s)"
        )
        print(
            f"  missing captions: {single.missing()}, "
            f"word error rate {single.word_error_rate():.1%}"
        )
        print(
            f"  CPU: {cpu / single.speech_s:.2f} CPU-seconds per second of speech "
            f"({cpu:.1f} s over {wall:.1f} s of wall time)"
        )
        print(
            f"  on the event loop: {1000 * single.push_seconds / single.frames:.3f} ms per "
            "20 ms frame (resampling + VAD)"
        )
        print(f"  {timings.summary()}")

        print("\npeople speaking at once (each in a session of their own), 3 sentences each:")
        fixtures = ["passport", "border", "safe"]
        for speakers in range(2, args.max_speakers + 1):
            playing = await run(service, speakers, fixtures)
            lat = [x for p in playing for x in p.latencies()]
            missing = sum(p.missing() for p in playing)
            p95 = percentile(lat, 0.95) if lat else float("inf")
            print(
                f"  {speakers} speakers: p50 {statistics.median(lat):.2f} s, p95 {p95:.2f} s, "
                f"max {max(lat):.2f} s, missing {missing} "
                f"(load average {os.getloadavg()[0]:.1f})"
            )
            if p95 > 3.0 or missing:
                print(f"  → p95 passes 3 s (or captions are lost) at {speakers} speakers")
                break
        else:
            print(f"  → p95 stayed within 3 s up to {args.max_speakers} speakers (the limit tried)")
        _, peak = rss_mb()
        print(f"\npeak resident memory: {peak:.0f} MB")
        await service.close()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per model")
    parser.add_argument(
        "--interims", action="store_true", help="interim text every second (default: off)"
    )
    parser.add_argument("--max-speakers", type=int, default=6, help="most speakers to try")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
