"""Sentence splitting that never downloads anything.

Argos models translate sentence by sentence; argostranslate's default splitter (MiniSBD)
fetches an ONNX model on first use, which must never happen here. Captions are one or two
sentences of recognised speech, so punctuation rules are enough.
"""

from __future__ import annotations

import re

# Sentence-final marks of the scripts we caption: Latin, Devanagari/Bengali danda,
# Arabic/Persian/Pashto question mark, Ethiopic full stop, CJK full stops.
_FINAL = ".!?…।॥؟۔።።？！。"
_BOUNDARY = re.compile(rf"(?<=[{_FINAL}])[\"'”’)\]]*\s+")
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "st.", "sr.", "jr.", "no.", "vs.", "e.g.", "i.e.", "etc."}
)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at final punctuation followed by space."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        piece = text[start : match.start()]
        last_word = piece.rsplit(maxsplit=1)[-1].lower() if piece.strip() else ""
        if last_word in _ABBREVIATIONS:
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]
