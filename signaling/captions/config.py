"""The captions pipeline's own configuration (built by web/ from the app settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from signaling.captions.languages import parse_pair

EngineName = Literal["argos", "apertium"]
ENGINE_NAMES: tuple[EngineName, ...] = ("argos", "apertium")
APERTIUM_MODES_DIR = Path("/usr/share/apertium/modes")


def parse_engine_choices(choices: Mapping[str, str]) -> Mapping[tuple[str, str], EngineName]:
    """Turn {"en-es": "apertium"} into {("eng", "spa"): "apertium"}, or raise ValueError."""
    parsed: dict[tuple[str, str], EngineName] = {}
    for pair_text, engine in choices.items():
        pair = parse_pair(pair_text)
        if engine == "argos":
            parsed[pair] = "argos"
        elif engine == "apertium":
            parsed[pair] = "apertium"
        else:
            raise ValueError(
                f"translation engine for {pair_text!r} must be one of "
                f"{', '.join(ENGINE_NAMES)}, not {engine!r}"
            )
    return MappingProxyType(parsed)


@dataclass(frozen=True)
class CaptionConfig:
    """Everything the pipeline needs to know; defaults suit a 2-core server."""

    argos_packages_dir: Path
    # A faster-whisper model folder; empty means the first model an installed package ships.
    speech_model: str = ""
    cpu_threads: int = 2
    # Pair → engine; pairs not listed use Argos when a package is installed, else Apertium.
    engine_choices: Mapping[tuple[str, str], EngineName] = field(
        default_factory=lambda: MappingProxyType({})
    )
    apertium_modes_dir: Path = APERTIUM_MODES_DIR
    # Silence that ends an utterance: shorter cuts people mid-sentence, longer delays captions.
    end_silence_ms: int = 300
    # Start recognising after this much silence, before the end is certain (0: never); the
    # caption still waits for `end_silence_ms`, and a withdrawn start costs only idle CPU.
    early_end_ms: int = 200
    # Whisper pads to 30 s; longer speech is cut so a caption never waits for the speaker.
    max_utterance_s: float = 12.0
    # Interim text while someone speaks, every this many seconds (0 turns interims off).
    # Off by default: each interim is a full whisper run (~0.35 s of 2 cores), so interims
    # every second doubled caption CPU and slowed finals on a busy 2-core machine.
    interim_every_s: float = 0.0
    # Threads recognising final utterances; interims get one more thread of their own.
    recognition_workers: int = 1
    translation_workers: int = 1
    # Pending recognitions per session before the oldest is dropped with a notice.
    queue_per_session: int = 6
    # A final caption that waited longer than this for a worker is marked delayed.
    delayed_after_s: float = 2.0
    # Longest recognised text, in tokens (a 12 s utterance is ~40 words).
    max_new_tokens: int = 120
