"""Spanish and English pages: gettext catalogs loaded from .po files, no build step.

Every `*.po` file under `web/locale/<lang>/` is merged into that language's catalog, so
each feature can keep its own file.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("en", "es")
LOCALE_DIR = Path(__file__).parent / "locale"


class Catalogs:
    """Translations per language; English is the source language."""

    def __init__(self, by_language: dict[str, Translations]) -> None:
        self._by_language = by_language

    def get(self, language: str) -> Translations:
        """The translations for `language` (English passes text through)."""
        return self._by_language.get(language) or self._by_language["en"]

    @classmethod
    def load(cls, locale_dir: Path = LOCALE_DIR) -> Catalogs:
        """Read and compile every .po file in memory."""
        by_language: dict[str, Translations] = {"en": Translations()}
        for language in LANGUAGES:
            folder = locale_dir / language
            if language == "en" or not folder.is_dir():
                continue
            merged = Catalog(locale=language)
            for po in sorted(folder.glob("*.po")):
                with po.open("rb") as handle:
                    for message in read_po(handle, locale=language):
                        if message.id and message.string:
                            merged[message.id] = message
            buffer = io.BytesIO()
            write_mo(buffer, merged)
            buffer.seek(0)
            by_language[language] = Translations(buffer)
        return cls(by_language)


def pick_language(
    cookie: str | None, profile: str | None, accept_language: str, default: str
) -> str:
    """The page language: the switch's cookie, then the profile, then the browser, then default."""
    for choice in (cookie, profile):
        if choice in LANGUAGES:
            return str(choice)
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return default
