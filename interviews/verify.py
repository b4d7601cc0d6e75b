"""Checking an exported summary: read its sealed record from any export format, then
check the summary's digest, each recording file's digest and the signature.

Each failure names the part that differs (the summary, a recording file by its path, the
signature, or a key this server does not know), so a reader can tell a damaged copy from
a forged one. See docs/records.md for what a seal does and does not prove.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pypdf import PdfReader

from interviews.exports import (
    RECORD_FORMAT,
    RECORD_NAME,
    VTT_NOTE,
    content_sha256,
    embedded_json,
    record_span,
)
from interviews.pdf_seal import layout_sha256, layouts_of, pages_sha256, refusals
from interviews.seal import (
    SEAL_FORMAT,
    canonical_bytes,
    check_signature,
    file_sha256,
    recording_file,
    sha256_hex,
)


class RecordUnreadable(ValueError):
    """The file holds no sealed record we can read; the message says why."""


# Everything a record may hold: anything else is not covered by a signature, and in an HTML
# export it could close the script element and show forged text around a valid seal.
_RECORD_KEYS = frozenset({"format", "summary", "seal", "export"})


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a repeated key (json.loads would keep the last one, so a
    reader and this check could see different values)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def _parse(text: str | bytes, where: str) -> dict[str, Any]:
    try:
        record = json.loads(text, object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RecordUnreadable(f"the {where} is not valid JSON ({error})") from None
    except _DuplicateKey as error:
        raise RecordUnreadable(f"the {where} repeats the key {error}") from None
    if (
        not isinstance(record, dict)
        or record.get("format") != RECORD_FORMAT
        or not isinstance(record.get("summary"), dict)
        or not isinstance(record.get("seal"), dict)
    ):
        raise RecordUnreadable(f"the {where} is not a {RECORD_FORMAT} record")
    extra = sorted(set(record) - _RECORD_KEYS)
    if extra:
        raise RecordUnreadable(f"the {where} has keys a record never has: {', '.join(extra)}")
    return record


@dataclass(frozen=True)
class Export:
    """What an export file holds: its format, sealed record and own content's digest."""

    format: str
    record: dict[str, Any]
    content_sha256: str | None  # None for JSON, whose content is the record itself
    layout_sha256: str | None = None  # PDF only: its pages' boxes, rotation and fonts
    refusals: tuple[str, ...] = ()  # PDF only: what a consulink PDF never holds


def read_record(data: bytes) -> Export:
    """The sealed record of a PDF, HTML, WebVTT or JSON export, and its content digest."""
    if data.startswith(b"%PDF-"):
        try:
            reader = PdfReader(io.BytesIO(data))
            found = reader.attachments.get(RECORD_NAME)
            contents = []
            for page in reader.pages:
                stream = page.get_contents()
                contents.append(stream.get_data() if stream is not None else b"")
            layout = layout_sha256(layouts_of(reader))
            refused = tuple(refusals(data, reader))
        except Exception as error:  # any damage pypdf trips on: untrusted bytes
            raise RecordUnreadable(f"the PDF cannot be read ({error!r})") from None
        if not found:
            raise RecordUnreadable(f"the PDF has no {RECORD_NAME} attachment")
        record = _parse(found[0], "PDF's attached record")
        return Export("pdf", record, pages_sha256(contents), layout, refused)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordUnreadable("the file is neither a PDF nor UTF-8 text") from None
    if text.lstrip().startswith("{"):
        return Export("json", _parse(text, "JSON file"), None)
    fmt = "vtt" if text.startswith("WEBVTT") else "html"
    span = record_span(fmt, text)
    if span is None:
        if fmt == "vtt":
            raise RecordUnreadable(f"the WebVTT file has no NOTE {VTT_NOTE} block")
        raise RecordUnreadable("no sealed record found: not a consulink PDF, HTML, WebVTT or JSON")
    where = f"{fmt.upper()} file's record"
    record = _parse(text[span[0] : span[1]], where)
    # The record's JSON is outside what the export signature covers: it must be exactly what
    # the exporter writes, so nothing can hide in it (a browser also ends the script element
    # at "</SCRIPT>", which the exporter's escaping never writes).
    if text[span[0] : span[1]] != embedded_json(record):
        raise RecordUnreadable(f"the {where} is not written as consulink writes it (altered)")
    return Export(fmt, record, content_sha256(fmt, text))


@dataclass
class Report:
    """What verification found: failures name the part that differs; notes are facts."""

    format: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing differs."""
        return not self.problems


def _check_export(export: Export, trusted: Sequence[Ed25519PublicKey], report: Report) -> None:
    """The signature over an HTML, WebVTT or PDF export's own content."""
    signed = export.record.get("export")
    what = "pages" if export.format == "pdf" else "text"
    if not isinstance(signed, dict) or signed.get("format") != export.format:
        report.problems.append(f"export: no signature over this {export.format} file's {what}")
        return
    if signed.get("content_sha256") != export.content_sha256:
        report.problems.append(
            "export changed: the PDF's pages are not what was sealed"
            if what == "pages"
            else f"export changed: the {export.format.upper()} file's text is not what was sealed"
        )
    if export.format == "pdf" and "layout_sha256" not in signed:
        report.problems.append("export: no signature over this PDF's page layout")
    elif export.format == "pdf" and signed["layout_sha256"] != export.layout_sha256:
        report.problems.append(
            "export changed: the PDF's page boxes, rotation or fonts are not what was sealed"
        )
    report.problems.extend(export.refusals)
    check = check_signature(signed, trusted)
    bound = signed.get("seal_signature") == export.record["seal"].get("signature")
    if not check.valid or not bound:
        report.problems.append("export signature: bad signature (the file was altered)")
    elif not check.known_key:
        report.problems.append(f"export signature: unknown key {check.key_id}")


def verify_record(
    record: Mapping[str, Any],
    trusted: Sequence[Ed25519PublicKey],
    recordings: Path | None = None,
) -> Report:
    """Check a record: the summary's digest, each recording file's (under `recordings`, if
    given) and the signature by one of the `trusted` keys."""
    report = Report()
    seal = record["seal"]
    if seal.get("format") != SEAL_FORMAT:
        report.problems.append(f"seal: unknown seal format {seal.get('format')!r}")
        return report

    digest = sha256_hex(canonical_bytes(record["summary"]))
    if digest != seal.get("summary_sha256"):
        report.problems.append(
            f"summary changed: its SHA-256 is {digest}, the seal says {seal.get('summary_sha256')}"
        )

    check = check_signature(seal, trusted)
    if not check.valid:
        report.problems.append("signature: bad signature (the seal was altered or forged)")
    elif not check.known_key:
        report.problems.append(
            f"signature: unknown key {check.key_id} (intact, but not signed by a trusted key)"
        )

    entries = seal.get("recordings") or []
    if recordings is None:
        if entries:
            report.notes.append(
                f"{len(entries)} recording file(s) not checked: give --recordings DIR"
            )
        return report
    for entry in entries:
        path = str(entry.get("path"))
        if entry.get("sha256") is None:
            report.notes.append(f"recording {path}: was already missing when sealed")
            continue
        found = recording_file(recordings, path)
        if found is None:
            report.problems.append(f"recording missing: {path}")
            continue
        actual, size = file_sha256(found)
        if actual != entry["sha256"] or size != entry.get("bytes"):
            report.problems.append(f"recording changed: {path}")
        else:
            report.notes.append(f"recording {path}: intact")
    return report


def verify_export(
    data: bytes, trusted: Sequence[Ed25519PublicKey], recordings: Path | None = None
) -> Report:
    """Read any export's record and check it; an unreadable record is one problem."""
    try:
        export = read_record(data)
    except RecordUnreadable as error:
        return Report(problems=[f"record unreadable: {error}"])
    try:
        report = verify_record(export.record, trusted, recordings)
        if export.content_sha256 is not None:
            _check_export(export, trusted, report)
    except (TypeError, AttributeError, KeyError, ValueError) as error:
        # The record is whatever the file says: a seal of the wrong shape is a failure to
        # report, never a crash.
        report = Report(
            problems=[f"record unreadable: its summary or seal is malformed ({error!r})"]
        )
    report.format = export.format
    return report
