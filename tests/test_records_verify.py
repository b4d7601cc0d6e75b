"""Tampered exports: verification fails and names the part that differs (bad input)."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from interviews.export_pdf import render_pdf
from interviews.exports import record_span, render_html, render_json, render_vtt, seal_summary
from interviews.pdf_layout import find_fonts
from interviews.seal import load_or_create_signing_key, public_key_b64, public_key_pem
from interviews.verify import verify_export
from tests.export_support import labels_for, sample_document, write_recordings
from web.cli import main

NOW = datetime(2026, 12, 3, 16, 10, tzinfo=UTC)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder with the signing key and the sample document's recording files."""
    write_recordings(sample_document(), tmp_path)
    load_or_create_signing_key(tmp_path / "signing.key")
    return tmp_path


def _record(data_dir: Path) -> tuple[dict[str, Any], Ed25519PrivateKey]:
    key = load_or_create_signing_key(data_dir / "signing.key")
    return seal_summary(sample_document(), data_dir, key, NOW), key


def _exports(record: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, bytes]:
    labels = labels_for(record["summary"])
    return {
        "json": render_json(record),
        "html": render_html(record, labels, key),
        "vtt": render_vtt(record, labels, key),
        "pdf": render_pdf(record, labels, find_fonts(), key),
    }


def _flip(data: bytes, where: str) -> bytes:
    """One changed byte in the consul's surname ("Perera" → "Pereda"), in the embedded
    record or in the visible text. HTML has its record last; WebVTT has it first, in the
    NOTE before the cues; a PDF's and a JSON's only plain copy is the record."""
    needle = b"Anura Perera"
    first, last = data.find(needle), data.rfind(needle)
    assert first >= 0
    in_record_first = data.startswith(b"WEBVTT") or data.startswith(b"%PDF") or data[:1] == b"{"
    at = first if (where == "record") == in_record_first else last
    changed = data[: at + 10] + b"d" + data[at + 11 :]
    assert (
        len(changed) == len(data) and sum(a != b for a, b in zip(changed, data, strict=True)) == 1
    )
    return changed


@pytest.mark.parametrize("fmt", ["json", "html", "vtt", "pdf"])
def test_one_changed_byte_in_the_summary_is_named(data_dir: Path, fmt: str) -> None:
    record, key = _record(data_dir)
    data = _exports(record, key)[fmt]
    assert verify_export(data, [key.public_key()], data_dir).ok
    report = verify_export(_flip(data, "record"), [key.public_key()], data_dir)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("summary changed: its SHA-256 is ")


@pytest.mark.parametrize("fmt", ["html", "vtt"])
def test_one_changed_byte_in_the_visible_text_is_named(data_dir: Path, fmt: str) -> None:
    record, key = _record(data_dir)
    data = _exports(record, key)[fmt]
    report = verify_export(_flip(data, "visible"), [key.public_key()], data_dir)
    assert report.problems == [
        f"export changed: the {fmt.upper()} file's text is not what was sealed"
    ]


def test_a_changed_pdf_page_is_named(data_dir: Path) -> None:
    record, key = _record(data_dir)
    data = _exports(record, key)["pdf"]
    # Rewrite page 1's content stream uncompressed with one glyph changed, as an editor would.
    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter(clone_from=reader)
    page = writer.pages[0]
    content = page.get_contents()
    assert content is not None
    raw = content.get_data()
    at = raw.index(b"Tj") - 3 if b"Tj" in raw else raw.index(b")") - 1
    content.set_data(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :])
    page.replace_contents(content)
    out = io.BytesIO()
    writer.write(out)
    report = verify_export(out.getvalue(), [key.public_key()], data_dir)
    assert report.problems == ["export changed: the PDF's pages are not what was sealed"]


def test_a_changed_or_missing_recording_file_is_named(data_dir: Path) -> None:
    record, key = _record(data_dir)
    data = render_json(record)
    track = data_dir / "recordings" / "7" / "track-1.ogg"
    content = bytearray(track.read_bytes())
    content[500] ^= 1
    track.write_bytes(bytes(content))
    report = verify_export(data, [key.public_key()], data_dir)
    assert report.problems == ["recording changed: 7/track-1.ogg"]
    track.unlink()
    report = verify_export(data, [key.public_key()], data_dir)
    assert report.problems == ["recording missing: 7/track-1.ogg"]


def test_another_key_or_a_swapped_key_is_named_as_the_signature(data_dir: Path) -> None:
    record, key = _record(data_dir)
    data = render_json(record)
    other = Ed25519PrivateKey.generate()
    report = verify_export(data, [other.public_key()], data_dir)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("signature: unknown key")

    # Sealed by another key, then dressed up with the server's key id and key: bad signature.
    forged = seal_summary(sample_document(), data_dir, other, NOW)
    forged["seal"]["key_id"] = record["seal"]["key_id"]
    forged["seal"]["public_key"] = public_key_b64(key.public_key())
    report = verify_export(render_json(forged), [key.public_key()], data_dir)
    assert report.problems == ["signature: bad signature (the seal was altered or forged)"]

    # A summary changed and its digest in the seal updated to match: the signature breaks.
    redone = json.loads(data)
    redone["summary"]["outcome"]["identity"] = "not_confirmed"
    redone["seal"]["summary_sha256"] = seal_summary(redone["summary"], data_dir, other, NOW)[
        "seal"
    ]["summary_sha256"]
    report = verify_export(json.dumps(redone).encode(), [key.public_key()], data_dir)
    assert report.problems == ["signature: bad signature (the seal was altered or forged)"]


def test_a_recording_path_cannot_lead_verification_out_of_the_folder(data_dir: Path) -> None:
    (data_dir.parent / "outside.ogg").write_bytes(b"x")
    document = sample_document()
    document["recordings"][0]["path"] = "../outside.ogg"
    key = load_or_create_signing_key(data_dir / "signing.key")
    record = seal_summary(document, data_dir / "recordings", key, NOW)
    assert record["seal"]["recordings"][0]["sha256"] is None  # never read when sealing
    report = verify_export(render_json(record), [key.public_key()], data_dir / "recordings")
    assert report.ok
    assert "recording ../outside.ogg: was already missing when sealed" in report.notes


@pytest.mark.parametrize(
    "damage",
    [
        {"recordings": "not a list"},
        {"recordings": [1, 2]},
        {"signature": 7},
        {"key_id": None, "public_key": ["x"]},
    ],
)
def test_a_seal_of_the_wrong_shape_fails_and_does_not_crash(
    data_dir: Path, damage: dict[str, Any]
) -> None:
    record, key = _record(data_dir)
    record["seal"].update(damage)
    report = verify_export(render_json(record), [key.public_key()], data_dir)
    assert not report.ok
    assert report.problems[0].startswith(("record unreadable", "signature: bad signature"))


def test_a_summary_with_a_value_json_cannot_hold_canonically_is_refused(data_dir: Path) -> None:
    record, key = _record(data_dir)
    data = render_json(record).replace(b'"version": 2', b'"version": NaN', 1)
    report = verify_export(data, [key.public_key()], data_dir)
    assert report.problems[0].startswith("record unreadable: its summary or seal is malformed")


def test_files_that_hold_no_record_are_refused(data_dir: Path) -> None:
    key = load_or_create_signing_key(data_dir / "signing.key")
    record, _ = _record(data_dir)
    pdf = _exports(record, key)["pdf"]
    cut = pdf[: len(pdf) // 2]  # a download that stopped half-way
    for data in (b"%PDF-1.7 garbage", cut, b"WEBVTT\n\n", b"{}", b"<html></html>", b"\xff\xfe"):
        report = verify_export(data, [key.public_key()], None)
        assert not report.ok and report.problems[0].startswith("record unreadable")


def test_cli_verify_exit_codes_and_messages(
    data_dir: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    record, key = _record(data_dir)
    exports = _exports(record, key)
    out = tmp_path_factory.mktemp("out")
    for fmt, data in exports.items():
        (out / f"summary.{fmt}").write_bytes(data)
    base = ["records", "verify", "--data-dir", str(data_dir)]

    assert main([*base, str(out / "summary.pdf"), "--recordings", str(data_dir)]) == 0
    assert "OK:" in capsys.readouterr().out
    # Without --recordings the files are not checked, and the output says so.
    assert main([*base, str(out / "summary.vtt")]) == 0
    assert "2 recording file(s) not checked" in capsys.readouterr().out

    (out / "changed.html").write_bytes(_flip(exports["html"], "record"))
    assert main([*base, str(out / "changed.html")]) == 1
    assert "FAILED summary changed" in capsys.readouterr().out

    # A verifier without the data folder trusts the key published by the API.
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    pem = elsewhere / "consulink.pem"
    pem.write_text(public_key_pem(key.public_key()))
    plain = ["records", "verify", "--data-dir", str(elsewhere), str(out / "summary.json")]
    assert main(plain) == 1
    assert "FAILED signature: unknown key" in capsys.readouterr().out
    assert main([*plain, "--key", str(pem)]) == 0
    raw = elsewhere / "consulink.key.b64"
    raw.write_text(base64.b64encode(b"x" * 31).decode())
    assert main([*plain, "--key", str(raw)]) == 2  # not a key: a clear error, exit 2
    assert "consulink:" in capsys.readouterr().err
    assert main([*plain, "--recordings", str(elsewhere / "none")]) == 2
    assert main([*base, str(out / "missing.json")]) == 2
    assert not (elsewhere / "signing.key").exists()  # verifying never mints a key


_FORGED = (
    "</SCRIPT><style>body>*:not(.forged){display:none!important}</style>"
    "<h1 class=forged>Identity: NOT CONFIRMED</h1><script>"
)


def _replace_record(data: bytes, fmt: str, json_text: str) -> bytes:
    text = data.decode()
    span = record_span(fmt, text)
    assert span is not None
    return (text[: span[0]] + json_text + text[span[1] :]).encode()


def test_an_html_record_cannot_carry_markup_that_shows_forged_text(data_dir: Path) -> None:
    """The record's JSON is outside the export signature. "</SCRIPT>" in it (a browser ends
    the script element there, whatever the case) would show forged text beside a valid seal:
    in a key no record has, or in one a signature does not cover."""
    record, key = _record(data_dir)
    html = _exports(record, key)["html"]
    span = record_span("html", html.decode())
    assert span is not None
    embedded = json.loads(html.decode()[span[0] : span[1]])
    extra = {**embedded, "zz": _FORGED}
    report = verify_export(
        _replace_record(html, "html", json.dumps(extra, ensure_ascii=False)),
        [key.public_key()],
        data_dir,
    )
    assert report.problems == [
        "record unreadable: the HTML file's record has keys a record never has: zz"
    ]
    embedded["seal"]["zz"] = _FORGED
    report = verify_export(
        _replace_record(html, "html", json.dumps(embedded, ensure_ascii=False)),
        [key.public_key()],
        data_dir,
    )
    assert report.problems == [
        "record unreadable: the HTML file's record is not written as consulink writes it (altered)"
    ]


@pytest.mark.parametrize("fmt", ["html", "vtt"])
def test_an_embedded_record_must_be_exactly_as_written(data_dir: Path, fmt: str) -> None:
    record, key = _record(data_dir)
    data = _exports(record, key)[fmt]
    text = data.decode()
    span = record_span(fmt, text)
    assert span is not None
    respaced = text[span[0] : span[1]].replace('{"export":', '{"export": ', 1)
    assert respaced != text[span[0] : span[1]]
    report = verify_export(_replace_record(data, fmt, respaced), [key.public_key()], data_dir)
    assert report.problems == [
        f"record unreadable: the {fmt.upper()} file's record is not written as consulink"
        " writes it (altered)"
    ]


def test_a_json_record_with_a_repeated_key_is_refused(data_dir: Path) -> None:
    """A reader may take the first "summary" and the checker the last: refuse both."""
    record, key = _record(data_dir)
    data = render_json(record)
    forged = b'{"summary": {"outcome": {"identity": "not_confirmed"}},' + data.lstrip()[1:]
    report = verify_export(forged, [key.public_key()], data_dir)
    assert report.problems == ["record unreadable: the JSON file repeats the key summary"]


_LAYOUT_CHANGED = "export changed: the PDF's page boxes, rotation or fonts are not what was sealed"


def _edited_pdf(data: bytes, edit: str) -> bytes:
    """The export changed with pypdf as an editor would: a note drawn over page 1, page 1
    cropped to its lower half, a font name added to page 1, or one more revision appended
    that changes only the document's title."""
    note = FreeText(
        text="IDENTITY NOT CONFIRMED", rect=(50, 500, 550, 800), font_size="20pt",
        background_color="ffffff", border_color="ff0000",
    )  # fmt: skip
    if edit == "revision":
        writer = PdfWriter(io.BytesIO(data), incremental=True)
        writer.add_metadata({"/Title": "Forged"})
    else:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        page = writer.pages[0]
        if edit == "annotation":
            writer.add_annotation(page_number=0, annotation=note)
        elif edit == "cropbox":
            page.cropbox.upper_right = (page.mediabox.right, page.mediabox.top / 2)
        elif edit == "font":
            fonts = page["/Resources"].get_object()["/Font"].get_object()
            fonts[NameObject("/F99")] = next(iter(fonts.values()))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ("annotation", "export changed: the PDF has /Annots (added after export)"),
        ("cropbox", _LAYOUT_CHANGED),
        ("font", _LAYOUT_CHANGED),
        ("revision", "export changed: the PDF was updated after export (2 revisions)"),
    ],
)  # fmt: skip
def test_a_pdf_changed_beyond_its_page_text_is_named(
    data_dir: Path, edit: str, problem: str
) -> None:
    """The pages' content streams are untouched: what a viewer shows still changed."""
    record, key = _record(data_dir)
    data = _exports(record, key)["pdf"]
    assert verify_export(data, [key.public_key()], data_dir).ok
    edited = _edited_pdf(data, edit)
    if edit == "revision":
        assert edited.startswith(data)  # the signed file is still there, unchanged
    report = verify_export(edited, [key.public_key()], data_dir)
    assert report.problems == [problem]


def test_a_pdf_that_acts_when_opened_is_refused(data_dir: Path) -> None:
    record, key = _record(data_dir)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_exports(record, key)["pdf"])))
    script = {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1")}
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(script)
    out = io.BytesIO()
    writer.write(out)
    report = verify_export(out.getvalue(), [key.public_key()], data_dir)
    assert report.problems == [
        f"export changed: the PDF has {key} (added after export)"
        for key in ("/JS", "/JavaScript", "/OpenAction")
    ]
