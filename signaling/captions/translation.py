"""Translating caption text into each viewer's language, with whichever engine has the pair.

Per pair the engine is chosen by setting, else Argos when a package is installed, else
Apertium. With no direct pair, we pivot through English (any engine for either leg, e.g.
Argos bn→en then Apertium en→es). With no route at all, or when an engine fails, viewers
get the original text with a notice — never an error. Calls block: run them in a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from interviews.codes import language_name
from signaling.captions.config import EngineName
from signaling.captions.events import Translation
from signaling.captions.languages import ENGLISH

log = logging.getLogger(__name__)

Pair = tuple[str, str]


class TranslationEngine(Protocol):
    """An offline translator for some language pairs."""

    name: str

    def pairs(self) -> set[Pair]:
        """(source, target) ISO 639-3 pairs it translates directly."""
        ...

    def translate(self, text: str, source: str, target: str) -> str:
        """Translate (blocking)."""
        ...

    def close(self) -> None:
        """Release processes and models."""
        ...


Leg = tuple[TranslationEngine, str, str]


class Translator:
    """Routes each (source, target) to an engine, directly or through English."""

    def __init__(
        self,
        engines: Sequence[TranslationEngine],
        choices: Mapping[Pair, EngineName] | None = None,
    ) -> None:
        self.engines = list(engines)
        self.choices = dict(choices or {})

    def _direct(self, source: str, target: str) -> TranslationEngine | None:
        having = [e for e in self.engines if (source, target) in e.pairs()]
        if not having:
            return None
        chosen = self.choices.get((source, target))
        for engine in having:
            if engine.name == chosen:
                return engine
        return having[0]  # engines are listed in order of preference (Argos first)

    def route(self, source: str, target: str) -> list[Leg] | None:
        """The engine legs that take source to target, or None when nothing can."""
        direct = self._direct(source, target)
        if direct is not None:
            return [(direct, source, target)]
        if ENGLISH in (source, target):
            return None
        first, second = self._direct(source, ENGLISH), self._direct(ENGLISH, target)
        if first is None or second is None:
            return None
        return [(first, source, ENGLISH), (second, ENGLISH, target)]

    def translate(self, text: str, source: str, target: str) -> Translation:
        """The text in `target`, or the original with a notice saying why not."""
        if source == target or not text.strip():
            return Translation(target, text, "same")
        legs = self.route(source, target)
        if legs is None:
            notice = (
                f"No {language_name(source)}–{language_name(target)} translation is "
                "installed; showing the original."
            )
            return Translation(target, text, "missing", notice=notice)
        result = text
        try:
            for engine, leg_source, leg_target in legs:
                result = engine.translate(result, leg_source, leg_target)
        except Exception:
            # A broken model or pipeline must cost viewers the translation, not the caption.
            log.exception("translation %s→%s failed", source, target)
            notice = "Machine translation failed for this caption; showing the original."
            return Translation(target, text, "failed", notice=notice)
        return Translation(
            target, result, "translated", engine="+".join(e.name for e, _, _ in legs)
        )

    def close(self) -> None:
        """Close every engine."""
        for engine in self.engines:
            engine.close()
