"""A summary document built by hand to the contract with helper/summaries (issue #7), and
the catalogs' translate functions, for the export tests and the benchmark."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from interviews.export_labels import Labels, label_languages, make_labels
from web.i18n import Catalogs


def sample_document(*, lines: int = 3, recordings: int = 2) -> dict[str, Any]:
    """A held interview: Sri Lanka's consul, Tapachula's staff, an interpreter, an outcome."""
    transcript = []
    speakers = [("Anura Perera", "consul", "eng"), ("Lucía Gómez", "facility", "spa")]
    for n in range(lines):
        name, role, language = speakers[n % 2]
        text = f"Line {n}: what is your village's name? <b>&amp; -->"
        translations = (
            {"spa": f"Línea {n}: ¿cómo se llama su aldea?"}
            if language == "eng"
            else {"eng": f"Line {n} in English", "sin": f"පේළිය {n}"}
        )
        transcript.append({
            "offset_ms": 1000 + n * 6000, "duration_ms": 4200, "at": "2026-12-03T15:00:01Z",
            "speaker": name, "role": role, "language": language, "text": text,
            "translations": translations, "machine": True,
        })  # fmt: skip
    return {
        "format": "consulink-summary/1",
        "version": 2,
        "generated_at": "2026-12-03T16:05:00Z",
        "interview": {
            "id": 7, "uid": "abc", "starts_at": "2026-12-03T15:00:00Z",
            "ends_at": "2026-12-03T16:00:00Z", "status": "held", "language": "sin",
            "opened_at": "2026-12-03T15:00:00Z", "closed_at": "2026-12-03T15:58:00Z",
            "consulate": {"id": 1, "name": "Embassy of Sri Lanka", "country": "LK",
                          "language": "sin"},
            "facility": {"id": 1, "name": "Estación Migratoria Siglo XXI", "country": "MX",
                         "language": "spa"},
        },
        "case": {"id": 3, "reference": "TAP-2026-0001", "person_name": "කමල් ජයසූරිය",
                 "claimed_nationality": "LK"},
        "participants": [
            {"role": "consul", "name": "Anura Perera", "organisation": "Embassy of Sri Lanka",
             "language": "eng", "periods": [{"joined_at": "2026-12-03T15:00:00Z",
                                             "left_at": "2026-12-03T15:58:00Z"}],
             "seconds": 3480, "reconnects": 1, "poor_quality": []},
            {"role": "facility", "name": "Lucía Gómez", "organisation": "Siglo XXI",
             "language": "spa", "periods": [], "seconds": 3500, "reconnects": 0,
             "poor_quality": [{"from": "2026-12-03T15:10:00Z", "to": "2026-12-03T15:11:00Z"}]},
            {"role": "interpreter", "name": "Nimal Silva", "organisation": "",
             "language": "sin", "periods": [], "seconds": 3400, "reconnects": 0,
             "poor_quality": []},
        ],
        "chat": [{"at": "2026-12-03T15:05:00Z", "name": "Lucía Gómez", "text": "Audio ok?"}],
        "transcript": transcript,
        "questionnaire": {"questionnaire": {"name": "Sri Lanka identity"},
                          "result": {"met": True, "confirmed": 5, "total": 20, "required": 5}},
        "outcome": {"identity": "confirmed", "nationality": "confirmed",
                    "nationality_country": "LK", "travel_document": "issue",
                    "next_steps": "Emergency passport within 10 days.", "notes": "",
                    "recorded_by": "Anura Perera", "recorded_at": "2026-12-03T15:57:00Z"},
        "recordings": [
            {"id": n + 1, "participant": "Anura Perera", "role": "consul", "kind": "audio",
             "path": f"7/track-{n}.ogg", "content_type": "audio/ogg", "offset_ms": 0,
             "started_at": "2026-12-03T15:00:00Z", "ended_at": None}
            for n in range(recordings)
        ],
    }  # fmt: skip


def write_recordings(document: dict[str, Any], data_dir: Path) -> None:
    """Small recording files where the document says they are (under recordings/)."""
    for n, rec in enumerate(document["recordings"]):
        path = data_dir / "recordings" / rec["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"OggS" + bytes([n]) * 1000)


def labels_for(document: dict[str, Any]) -> Labels:
    """Labels in the document's consulate and facility languages, from the real catalogs."""
    catalogs = Catalogs.load()

    def catalog(ui: str) -> Callable[[str], str]:
        return catalogs.get(ui).gettext

    return make_labels(label_languages(document), catalog)
