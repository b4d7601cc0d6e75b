"""Apertium, the rule-based offline translator Debian packages (apertium-eng-spa, ...).

Each pair runs as one long-lived pipeline of Apertium's own programs in null-flush mode
(`-z`): we write a text ending in NUL and read the translation up to the next NUL. Loading
the dictionaries costs ~0.35 s once; afterwards a sentence takes ~2 ms. This is what
Apertium's own server (apertium-apy) does, without the HTTP hop.
"""

from __future__ import annotations

import logging
import os
import select
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path

from signaling.captions.languages import CodeError, iso3

log = logging.getLogger(__name__)

# Characters with a meaning in Apertium's stream format; escaped on the way in.
_SPECIAL = set("\\[]{}^$/<>@*#+~|")
TIMEOUT_S = 10.0


class ApertiumError(RuntimeError):
    """The pipeline failed or is not installed."""


def available_modes(modes_dir: Path) -> dict[tuple[str, str], Path]:
    """Installed plain pair modes (like eng-spa.mode) by ISO 639-3 (source, target)."""
    found: dict[tuple[str, str], Path] = {}
    if not modes_dir.is_dir():
        return found
    for mode in sorted(modes_dir.glob("*.mode")):
        parts = mode.stem.split("-")
        # Variants (spa-eng_US) and debug modes (eng-spa-morph) are not translation pairs.
        if len(parts) != 2 or "_" in mode.stem:
            continue
        try:
            found[(iso3(parts[0]), iso3(parts[1]))] = mode
        except CodeError:
            continue
    return found


def _escape(text: str) -> str:
    flat = " ".join(text.replace("\0", " ").split())
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in flat)


def _unescape(text: str) -> str:
    out, escaped = [], False
    for ch in text:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out.append(ch)
    # An empty superblank "[]" may come back around the text; it is formatting, not text.
    return " ".join("".join(out).replace("[]", " ").split())


def pipeline_command(mode: Path) -> str:
    """The mode's shell pipeline with every program in null-flush mode."""
    commands = [c.strip() for c in mode.read_text(encoding="utf-8").strip().split("|")]
    flushed = []
    for command in commands:
        program, _, rest = command.partition(" ")
        flushed.append(f"{program} -z {rest}".strip())
    return " | ".join(flushed)


class _Pipeline:
    """One running pair: a bash pipeline fed NUL-terminated texts."""

    def __init__(self, mode: Path) -> None:
        if shutil.which("lt-proc") is None:
            raise ApertiumError("Apertium is not installed (apt-get install apertium-eng-spa)")
        # $1 is the generator's option (-n: do not mark unknown words), $2 the tagger's.
        self.process = subprocess.Popen(
            ["bash", "-c", pipeline_command(mode), mode.stem, "-n", ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )

    def translate(self, text: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        # A trailing blank makes the last word leave the pipeline before the flush.
        data = memoryview((_escape(text) + " \0").encode("utf-8"))
        while data:
            data = data[os.write(self.process.stdin.fileno(), data) :]
        out = bytearray()
        deadline = time.monotonic() + TIMEOUT_S
        while not out.endswith(b"\0"):
            # A stalled pipeline must not hold a worker thread for ever.
            ready, _, _ = select.select(
                [self.process.stdout], [], [], max(0.0, deadline - time.monotonic())
            )
            if not ready:
                raise ApertiumError(f"no answer within {TIMEOUT_S:.0f} s")
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise ApertiumError(f"apertium pipeline ended (exit {self.process.poll()})")
            out += chunk
        return _unescape(out[:-1].decode("utf-8", errors="replace"))

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class ApertiumEngine:
    """Translation with the Apertium pairs installed from Debian packages."""

    name = "apertium"

    def __init__(self, modes_dir: Path) -> None:
        self.modes_dir = modes_dir
        self._lock = threading.Lock()
        self._pipelines: dict[tuple[str, str], _Pipeline] = {}
        self._pair_locks: dict[tuple[str, str], threading.Lock] = {}

    def pairs(self) -> set[tuple[str, str]]:
        """(source, target) pairs installed."""
        return set(available_modes(self.modes_dir))

    def translate(self, text: str, source: str, target: str) -> str:
        """Translate (blocking). KeyError when the pair is missing; ApertiumError on failure."""
        mode = available_modes(self.modes_dir)[(source, target)]
        with self._lock:
            pair_lock = self._pair_locks.setdefault((source, target), threading.Lock())
        with pair_lock:
            pipeline = self._pipelines.get((source, target))
            if pipeline is None or pipeline.process.poll() is not None:
                log.info("starting apertium pipeline %s", shlex.quote(mode.stem))
                pipeline = self._pipelines[(source, target)] = _Pipeline(mode)
            try:
                return pipeline.translate(text)
            except (ApertiumError, OSError) as error:
                pipeline.close()
                del self._pipelines[(source, target)]
                raise ApertiumError(f"apertium {mode.stem}: {error}") from error

    def close(self) -> None:
        """Stop every pipeline."""
        with self._lock:
            pipelines = list(self._pipelines.values())
            self._pipelines.clear()
        for pipeline in pipelines:
            pipeline.close()
