"""Each exporter on a hand-built summary document, read back by real readers (json, pypdf,
webvtt-py, html.parser), and verification of every format."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import webvtt
from babel.messages.pofile import read_po
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from interviews.export_labels import LABELS, VALUES
from interviews.export_pdf import render_pdf
from interviews.exports import render_html, render_json, render_vtt, seal_summary
from interviews.pdf_layout import FontMissing, find_fonts
from interviews.seal import load_or_create_signing_key, seal_digest
from interviews.verify import read_record, verify_export
from tests.export_support import labels_for, sample_document, write_recordings
from web.i18n import LOCALE_DIR

NOW = datetime(2026, 12, 3, 16, 10, tzinfo=UTC)


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[dict[str, Any], Ed25519PrivateKey]:
    """A sealed record of the sample document, its recordings under tmp_path/recordings."""
    document = sample_document()
    # Text that would break out of HTML or WebVTT if it were not escaped.
    document["outcome"]["notes"] = "</script><script>alert(1)</script> --> & done"
    write_recordings(document, tmp_path)
    key = load_or_create_signing_key(tmp_path / "signing.key")
    return seal_summary(document, tmp_path, key, NOW), key


def test_json_export_is_the_record_and_verifies(
    sealed: tuple[dict[str, Any], Ed25519PrivateKey], tmp_path: Path
) -> None:
    record, key = sealed
    data = render_json(record)
    loaded = json.loads(data)
    assert loaded["summary"] == record["summary"]
    assert loaded["seal"]["algorithm"] == "Ed25519"
    assert [r["bytes"] for r in loaded["seal"]["recordings"]] == [1004, 1004]
    report = verify_export(data, [key.public_key()], tmp_path)
    assert report.ok, report.problems
    assert report.notes == ["recording 7/track-0.ogg: intact", "recording 7/track-1.ogg: intact"]


class _Scripts(HTMLParser):
    """Collects script elements as a browser's parser splits them."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open = dict(attrs)
            self.scripts.append((self._open, ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def test_html_export_is_bilingual_escapes_text_and_carries_one_data_block(
    sealed: tuple[dict[str, Any], Ed25519PrivateKey], tmp_path: Path
) -> None:
    record, key = sealed
    labels = labels_for(record["summary"])
    page = render_html(record, labels, key).decode()
    # Consulate Sri Lanka (Sinhala: no catalog, so English) and facility Mexico (Spanish).
    assert labels.languages == ("sin", "spa")
    assert "Outcome / Resultado" in page
    assert 'lang="si"' in page
    assert "කමල් ජයසූරිය" in page
    assert "Línea 0: ¿cómo se llama su aldea?" in page  # the transcript's translation
    parser = _Scripts()
    parser.feed(page)
    # The notes' "</script><script>" did not open a script: one block, data only.
    assert [attrs for attrs, _ in parser.scripts] == [
        {"type": "application/json", "id": "consulink-record"}
    ]
    embedded = json.loads(parser.scripts[0][1])
    assert embedded["summary"] == record["summary"] and embedded["seal"] == record["seal"]
    assert embedded["export"]["format"] == "html"
    assert html.escape("</script><script>alert(1)</script>") in page
    assert verify_export(page.encode(), [key.public_key()], tmp_path).ok


def test_webvtt_export_parses_with_speakers_translations_and_the_seal_note(
    sealed: tuple[dict[str, Any], Ed25519PrivateKey], tmp_path: Path
) -> None:
    record, key = sealed
    text = render_vtt(record, labels_for(record["summary"]), key).decode()
    parsed = webvtt.from_string(text, strict=True)
    transcript = record["summary"]["transcript"]
    assert len(parsed) == len(transcript)
    assert [html.unescape(c.voice or "") for c in parsed] == [t["speaker"] for t in transcript]
    first = [html.unescape(line) for line in parsed[0].text.splitlines()]
    assert first == [transcript[0]["text"], transcript[0]["translations"]["spa"]]
    # The Spanish line's translation into the consulate's language (Sinhala) is shown.
    assert html.unescape(parsed[1].text).splitlines()[1] == "පේළිය 1"
    assert any(c.startswith("consulink-record {") for c in parsed.header_comments)
    assert verify_export(text.encode(), [key.public_key()], tmp_path).ok


def test_pdf_export_has_the_people_outcome_transcript_and_seal_and_verifies(
    sealed: tuple[dict[str, Any], Ed25519PrivateKey], tmp_path: Path
) -> None:
    record, key = sealed
    data = render_pdf(record, labels_for(record["summary"]), find_fonts(), key)
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for name in ("Anura Perera", "Lucía Gómez", "Nimal Silva", "කමල් ජයසූරිය"):
        assert name in text
    assert "Identity / Identidad:\nconfirmed / confirmada" in text
    assert "Emergency passport within 10 days." in text
    assert "Línea 0: ¿cómo se llama su aldea?" in text
    last = reader.pages[-1].extract_text().replace("\n", "")
    assert seal_digest(record["seal"]) in last
    assert list(reader.attachments) == ["consulink-record.json"]
    export = read_record(data)
    assert export.format == "pdf" and export.record["summary"] == record["summary"]
    assert verify_export(data, [key.public_key()], tmp_path).ok


def test_labels_read_english_for_a_side_whose_language_is_unknown() -> None:
    document = sample_document()
    document["interview"]["consulate"]["language"] = None
    labels = labels_for(document)
    assert labels.languages == ("eng", "spa")
    assert labels("Outcome") == "Outcome / Resultado"
    assert labels.value("more_information_needed") == (
        "more information needed / se necesita más información"
    )
    document["interview"]["facility"]["language"] = "eng"
    assert labels_for(document)("Outcome") == "Outcome"  # one language: shown once


def test_a_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="not a file"):
        find_fonts(tmp_path / "nothing.ttf")


def test_every_export_label_and_link_text_has_a_spanish_translation() -> None:
    ids: set[str] = set()
    for po in (LOCALE_DIR / "es").glob("*.po"):
        with po.open("rb") as handle:
            ids.update(str(m.id) for m in read_po(handle) if m.id and m.string)
    links = (LOCALE_DIR.parent / "templates" / "summaries" / "_exports.html").read_text()
    texts = re.findall(r'_\("([^"]+)"\)', links)
    assert len(texts) == 7
    missing = [text for text in (*LABELS, *VALUES.values(), *texts) if text not in ids]
    assert missing == []


def test_the_signing_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.key"
    key = load_or_create_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create_signing_key(path)
    assert again.public_key() == key.public_key()
