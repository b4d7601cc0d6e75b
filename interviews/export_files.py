"""One call that seals a summary document and renders it in the asked format.

Blocking (hashes recording files, renders a PDF): run it in an executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from interviews.export_labels import Labels
from interviews.export_pdf import render_pdf
from interviews.exports import (
    FORMATS,
    ExportFormat,
    export_name,
    render_html,
    render_json,
    render_vtt,
    seal_summary,
)
from interviews.pdf_layout import find_fonts
from interviews.seal import seal_digest


@dataclass(frozen=True)
class ExportFile:
    """A rendered export: its bytes, format, download name and the seal it carries."""

    data: bytes
    format: ExportFormat
    filename: str
    seal: dict[str, Any]

    @property
    def seal_sha256(self) -> str:
        """The digest naming everything sealed, as printed on the export."""
        return seal_digest(self.seal)


def build_export(
    document: Mapping[str, Any],
    fmt: str,
    *,
    data_dir: Path,
    key: Ed25519PrivateKey,
    labels: Labels,
    now: datetime,
    font: Path | None = None,
) -> ExportFile:
    """Seal `document` (with its recordings under `data_dir`) and render it as `fmt`.

    Raises export_pdf.FontMissing for a PDF when no Unicode font is installed.
    """
    export_format = FORMATS[fmt]
    fonts = find_fonts(font) if fmt == "pdf" else None  # before any hashing: fail fast
    record = seal_summary(document, data_dir, key, now)
    if fmt == "json":
        data = render_json(record)
    elif fmt == "html":
        data = render_html(record, labels, key)
    elif fmt == "vtt":
        data = render_vtt(record, labels, key)
    else:
        assert fonts is not None
        data = render_pdf(record, labels, fonts, key)
    return ExportFile(data, export_format, export_name(record, export_format), record["seal"])
