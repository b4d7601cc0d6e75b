"""Exports of a session summary: JSON, print-ready HTML, WebVTT (and PDF in export_pdf).

Every export carries the same *record*: ``{"format": "consulink-record/1", "summary":
<the summary document>, "seal": <interviews.seal>}``, so `consulink records verify` can
check any of them the same way:

- JSON: the record itself (pretty-printed; the seal hashes the summary's canonical form,
  not these bytes, so indentation does not matter);
- HTML: a ``<script type="application/json" id="consulink-record">`` block;
- WebVTT: a ``NOTE consulink-record {...}`` block before the cues;
- PDF: an embedded file ``consulink-record.json``, with the digest printed on the last page.

The seal covers the summary, not the way an export shows it, so HTML, WebVTT and PDF
exports also carry ``record["export"]``: the SHA-256 of the export's own content (the file
without its record's JSON; for a PDF, its pages' content streams) signed with the same key
and bound to the seal's signature. An edit to the visible text is caught too.

Embedded copies are JSON in ASCII with ``<``, ``>`` and ``&`` written as \\u escapes, so
they can never close the HTML script element or put "-->" in a WebVTT NOTE.

Rendering and sealing read files and burn CPU: call them in an executor, never on the loop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jinja2 import Environment, PackageLoader, select_autoescape

from interviews import export_labels
from interviews.export_labels import Labels
from interviews.seal import (
    canonical_bytes,
    digest_recordings,
    make_seal,
    recording_paths,
    seal_digest,
    sha256_hex,
    sign_export,
)
from interviews.webvtt import cues_from_transcript, render, translations_of

RECORD_FORMAT = "consulink-record/1"
RECORD_NAME = "consulink-record.json"  # the PDF attachment and the HTML script id
VTT_NOTE = "consulink-record"
HTML_OPEN = '<script type="application/json" id="consulink-record">'
HTML_CLOSE = "</script>"
VTT_OPEN = f"\nNOTE {VTT_NOTE} "
# Stands where the record's JSON goes while the content digest is taken.
_PLACEHOLDER = "CONSULINK_RECORD"


@dataclass(frozen=True)
class ExportFormat:
    """One export format: how it is served and named."""

    name: str
    media_type: str
    suffix: str


FORMATS = {
    "json": ExportFormat("json", "application/json", ".json"),
    "html": ExportFormat("html", "text/html; charset=utf-8", ".html"),
    "pdf": ExportFormat("pdf", "application/pdf", ".pdf"),
    "vtt": ExportFormat("vtt", "text/vtt; charset=utf-8", ".vtt"),
}


def seal_summary(
    document: Mapping[str, Any],
    recordings_base: Path,
    key: Ed25519PrivateKey,
    now: datetime,
) -> dict[str, Any]:
    """The record of a summary: the document and a fresh seal over it and its recordings."""
    recordings = digest_recordings(recordings_base, recording_paths(document))
    sealed_at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    seal = make_seal(canonical_bytes(document), recordings, key, sealed_at=sealed_at)
    return {"format": RECORD_FORMAT, "summary": dict(document), "seal": seal}


def embedded_json(record: Mapping[str, Any]) -> str:
    """The record as one line of ASCII JSON that is safe inside HTML and WebVTT."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def record_span(fmt: str, text: str) -> tuple[int, int] | None:
    """Where the record's JSON lies in an HTML or WebVTT export's text (start, end)."""
    if fmt == "html":
        start = text.find(HTML_OPEN)
        if start < 0:
            return None
        start += len(HTML_OPEN)
        end = text.find(HTML_CLOSE, start)
    else:
        start = text.find(VTT_OPEN)
        if start < 0:
            return None
        start += len(VTT_OPEN)
        end = text.find("\n", start)
    return (start, end) if end >= 0 else None


def content_sha256(fmt: str, text: str) -> str | None:
    """SHA-256 of an HTML or WebVTT export without its record's JSON (what the export
    signature covers), or None when the text has no record."""
    span = record_span(fmt, text)
    if span is None:
        return None
    return sha256_hex((text[: span[0]] + text[span[1] :]).encode())


def _finish(fmt: str, text: str, record: Mapping[str, Any], key: Ed25519PrivateKey) -> bytes:
    """Sign the export's content, then put the record (with that signature) in its place."""
    digest = content_sha256(fmt, text.replace(_PLACEHOLDER, "", 1))
    assert digest is not None, "the template lost the record block"
    sealed = {**record, "export": sign_export(record["seal"], fmt, digest, key)}
    return text.replace(_PLACEHOLDER, embedded_json(sealed), 1).encode()


def export_name(record: Mapping[str, Any], fmt: ExportFormat) -> str:
    """A download file name: consulink-summary-<interview id>-v<version><suffix>."""
    summary = record["summary"]
    interview = summary.get("interview") or {}
    return f"consulink-summary-{interview.get('id', 'x')}-v{summary.get('version', 0)}{fmt.suffix}"


def render_json(record: Mapping[str, Any]) -> bytes:
    """The JSON export: the record, indented for people, UTF-8."""
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def transcript_translations(line: Mapping[str, Any], labels: Labels) -> list[tuple[str, str]]:
    """A transcript line's translations into the readers' languages (language, text)."""
    return translations_of(line, labels.languages)


def render_vtt(record: Mapping[str, Any], labels: Labels, key: Ed25519PrivateKey) -> bytes:
    """The WebVTT export: each transcript line with its speaker, original and translation."""
    summary = record["summary"]
    cues = cues_from_transcript(summary.get("transcript") or [], labels.languages)
    case = (summary.get("case") or {}).get("reference") or ""
    notes = [
        labels("Machine transcription and translation: check against the recording."),
        f"{VTT_NOTE} {_PLACEHOLDER}",
    ]
    title = f"{labels('Transcript')} {case}".strip()
    return _finish("vtt", render(cues, title=title, notes=notes), record, key)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("interviews", "export_templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        language_name=export_labels.language_name,
        country_name=export_labels.country_name,
        clock=export_labels.clock,
        duration=export_labels.duration,
        when=export_labels.when,
        bcp47=export_labels.bcp47,
        translations=transcript_translations,
    )
    return env


def render_html(record: Mapping[str, Any], labels: Labels, key: Ed25519PrivateKey) -> bytes:
    """The print-ready HTML export: one self-contained page (its own print styles)."""
    template = _environment().get_template("summary.html")
    seal = record["seal"]
    sealed = {r["path"]: r for r in seal.get("recordings") or []}
    html = template.render(
        s=record["summary"],
        seal=seal,
        seal_digest=seal_digest(seal),
        sealed=sealed,
        t=labels,
        lang=labels.languages[0] if labels.languages else "eng",
        record_open=HTML_OPEN,
        record_json=_PLACEHOLDER,
    )
    return _finish("html", html, record, key)
