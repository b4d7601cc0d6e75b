"""Language codes as the captions pipeline needs them.

The project stores languages as ISO 639-3 (`eng`, `spa`, `hin`); whisper and Argos
packages use ISO 639-1 (`en`, `es`, `hi`); Apertium names its modes with ISO 639-3
(`eng-spa`). Everything inside the pipeline is ISO 639-3; this module converts at the edges.
"""

from __future__ import annotations

import pycountry

from interviews.codes import CodeError, language

ENGLISH = "eng"


def iso3(code: str) -> str:
    """Normalise an ISO 639-1 or 639-3 code to ISO 639-3, or raise CodeError."""
    return language(code)


def iso1(code: str) -> str | None:
    """The ISO 639-1 code of an ISO 639-3 language, or None when it has none."""
    found = pycountry.languages.get(alpha_3=code)
    alpha_2 = getattr(found, "alpha_2", None) if found is not None else None
    return str(alpha_2) if alpha_2 else None


def parse_pair(text: str) -> tuple[str, str]:
    """Parse "en-es" or "eng-spa" into an ISO 639-3 (source, target) pair, or raise CodeError."""
    parts = text.strip().split("-")
    if len(parts) != 2:
        raise CodeError(f"language pair {text!r} must look like en-es or eng-spa")
    return iso3(parts[0]), iso3(parts[1])


def pair_label(source: str, target: str) -> str:
    """How a pair is written in settings and listings: "eng-spa"."""
    return f"{source}-{target}"


__all__ = ["ENGLISH", "CodeError", "iso1", "iso3", "pair_label", "parse_pair"]
