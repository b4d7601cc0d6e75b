"""PDFs from uploads: a real parse (truncated or encrypted files are refused), a clean copy
without scripts, attachments or metadata, and a visible per-viewer watermark on each page.

CPU work on untrusted bytes: call it in an executor, never on the loop.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from fpdf import FPDF
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import NameObject

PDF = "application/pdf"
MAX_PAGES = 200


class PdfRefused(ValueError):
    """A PDF that is not accepted, with the reason to show."""


@dataclass(frozen=True)
class CleanPdf:
    """A PDF rebuilt from its pages alone."""

    data: bytes
    pages: int


def clean_pdf(data: bytes, max_pages: int = MAX_PAGES) -> CleanPdf:
    """Parse strictly and rebuild: pages only, no document scripts, attachments or metadata.

    The end-of-file marker is required: a file cut short in transfer loses it, and pypdf's
    lenient repair would otherwise accept the half that arrived.
    """
    if b"%%EOF" not in data[-2048:]:
        raise PdfRefused("the PDF is incomplete (no end-of-file marker); upload it again")
    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        if reader.is_encrypted:
            raise PdfRefused("encrypted or password-protected PDFs are not accepted")
        count = len(reader.pages)
        if count == 0:
            raise PdfRefused("the PDF has no pages")
        if count > max_pages:
            raise PdfRefused(f"the PDF has {count} pages; at most {max_pages} are accepted")
        writer = PdfWriter()
        for page in reader.pages:
            # Resolve what each page draws with, so missing objects are found now.
            for key in ("/Contents", "/Resources"):
                if key in page:
                    page[key].get_object()
            _ = page.mediabox
            added = writer.add_page(page)
            for dangerous in ("/AA", "/Annots"):  # page actions; links and form widgets
                if dangerous in added:
                    del added[NameObject(dangerous)]
        out = io.BytesIO()
        writer.write(out)
    except PdfRefused:
        raise
    except Exception as error:
        # Any failure to parse untrusted bytes means the file is refused, whatever pypdf raised.
        raise PdfRefused(f"the PDF cannot be read: {type(error).__name__}") from None
    return CleanPdf(out.getvalue(), count)


def _latin1(text: str) -> str:
    # The PDF core fonts cover Latin-1; anything else becomes "?" (the e-mail stays exact).
    return text.encode("latin-1", "replace").decode("latin-1")


def _overlay(width: float, height: float, text: str) -> PageObject:
    pdf = FPDF(unit="pt", format=(width, height))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    size = max(8.0, min(width, height) / 40)
    pdf.set_font("Helvetica", size=size)
    line = _latin1(text)
    pdf.set_text_color(200, 0, 0)
    step = size * 8
    with pdf.local_context(fill_opacity=0.3, stroke_opacity=0.3):
        y = step
        # Bounded by the page height: one diagonal line of text every `step` points.
        while y < height + width:
            with pdf.rotation(30, x=0, y=y):
                pdf.text(0, y, (line + "      ") * 4)
            y += step
    # A solid band at the foot keeps the line legible on any page.
    with pdf.local_context(fill_opacity=0.85):
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(0, height - size * 2, width, size * 2, style="F")
    pdf.set_text_color(0, 0, 0)
    pdf.text(size / 2, height - size * 0.7, line)
    overlay = PdfReader(io.BytesIO(bytes(pdf.output()))).pages[0]
    return overlay


def watermark_pdf(data: bytes, text: str) -> bytes:
    """A copy of a (clean) PDF with `text` stamped on every page."""
    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter()
    overlays: dict[tuple[Decimal, Decimal], PageObject] = {}
    for page in reader.pages:
        box = page.mediabox
        key = (Decimal(str(box.width)), Decimal(str(box.height)))
        if key not in overlays:
            overlays[key] = _overlay(float(box.width), float(box.height), text)
        overlay = overlays[key]
        added = writer.add_page(page)
        # Rotated pages: stamp in the page's own coordinates, translated to its origin.
        added.merge_translated_page(overlay, float(box.left), float(box.bottom), over=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
