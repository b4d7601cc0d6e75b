"""Bilingual labels for exported summaries: the consulate's language and the facility's.

Exports are read by both sides, so every label is shown in both languages ("Outcome /
Resultado"). The domain does not load catalogs: the caller passes one translate function
per language (web/ builds them from the page catalogs, English and Spanish today). A
language without a catalog falls back to English, and a label that comes out the same in
both is shown once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pycountry

Translate = Callable[[str], str]

# ISO 639-3 of the summary document → the UI catalogs' language codes.
CATALOG_LANGUAGES = {"eng": "en", "spa": "es"}

# Every label exports use (web/locale/es/exports.po translates each; a test checks).
LABELS = (
    "Interview summary",
    "Case",
    "Person",
    "Claimed nationality",
    "Consulate",
    "Facility",
    "Scheduled",
    "Opened",
    "Closed",
    "Status",
    "Interview language",
    "Summary version",
    "Generated",
    "Outcome",
    "Identity",
    "Nationality",
    "Travel document",
    "Next steps",
    "Notes",
    "Recorded by",
    "No outcome recorded",
    "Participants",
    "Name",
    "Role",
    "Organisation",
    "Language",
    "Time present",
    "Reconnections",
    "Poor connection",
    "Questionnaire",
    "Parameters confirmed",
    "Required",
    "Met",
    "Transcript",
    "Time",
    "Speaker",
    "Machine transcription and translation: check against the recording.",
    "No transcript",
    "Chat",
    "Recordings",
    "Kind",
    "File",
    "missing when sealed",
    "Seal",
    "Summary SHA-256",
    "Seal SHA-256",
    "Signing key",
    "Sealed at",
    "Signature",
    "To check this record: consulink records verify FILE --recordings DIR",
    "yes",
    "no",
)

# Values the document holds as codes, with their English label.
VALUES = {
    "confirmed": "confirmed",
    "not_confirmed": "not confirmed",
    "more_information_needed": "more information needed",
    "issue": "issue",
    "refuse": "refuse",
    "pending": "pending",
    "consul": "Consul",
    "facility": "Facility staff",
    "interpreter": "Interpreter",
    "guest": "Guest",
    "audio": "audio",
    "video": "video",
    "held": "held",
}


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class Labels:
    """Labels in each reader's language, joined with " / " (English where none is known)."""

    languages: tuple[str, ...] = ("eng",)
    translators: tuple[Translate, ...] = field(default=(_identity,))

    def __call__(self, text: str) -> str:
        """A label in every language, each once, in the order the languages were given."""
        seen: list[str] = []
        for translate in self.translators:
            value = translate(text)
            if value not in seen:
                seen.append(value)
        return " / ".join(seen)

    def value(self, code: str | None) -> str:
        """A coded value (outcome, role, kind, status) as a label."""
        if code is None:
            return "—"
        return self(VALUES.get(code, code.replace("_", " ")))


def label_languages(document: Mapping[str, Any]) -> list[str]:
    """The ISO 639-3 languages to label an export in: the consulate's, then the facility's;
    a side whose language is not known reads English."""
    interview = document.get("interview") or {}
    found: list[str] = []
    for side in ("consulate", "facility"):
        language = str((interview.get(side) or {}).get("language") or "eng")
        if language not in found:
            found.append(language)
    return found


def make_labels(languages: Sequence[str], catalog: Callable[[str], Translate | None]) -> Labels:
    """Labels for these ISO 639-3 languages; `catalog(ui_code)` gives a translate function
    for a UI language ("en", "es") or None; unknown languages fall back to English."""
    translators: list[Translate] = []
    for language in languages:
        ui = CATALOG_LANGUAGES.get(language, "en")
        translators.append(catalog(ui) or _identity)
    return Labels(tuple(languages), tuple(translators) or (_identity,))


def language_name(code: str | None) -> str:
    """An ISO 639-3 code's English name ("sin" → "Sinhala"), or the code itself."""
    if not code:
        return "—"
    found = pycountry.languages.get(alpha_3=code)
    return str(found.name) if found is not None else code


def country_name(code: str | None) -> str:
    """An ISO 3166 alpha-2 code's English name, or the code itself."""
    if not code:
        return "—"
    found = pycountry.countries.get(alpha_2=code)
    return str(getattr(found, "common_name", None) or found.name) if found else code


def clock(ms: int) -> str:
    """Milliseconds from the session's opening as h:mm:ss, for transcript lines."""
    seconds = max(0, int(ms)) // 1000
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def duration(seconds: int | float | None) -> str:
    """Seconds as "1 h 02 min", "12 min 05 s" or "40 s"."""
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def when(iso: str | None) -> str:
    """An ISO 8601 UTC time as "2026-12-03 20:00 UTC" (exports do not guess a time zone)."""
    if not iso:
        return "—"
    return iso.replace("T", " ")[:16] + " UTC"


def bcp47(code: str | None) -> str:
    """An ISO 639-3 code as a BCP 47 tag (the two-letter code where there is one)."""
    if not code:
        return "und"
    found = pycountry.languages.get(alpha_3=code)
    return str(getattr(found, "alpha_2", None) or code) if found is not None else code
