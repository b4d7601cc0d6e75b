"""What a PDF export's signature covers, computed the same way when signing and checking.

A viewer shows more than the pages' content streams: the page boxes (a changed CropBox
hides part of a page), the rotation, the fonts a page names, annotations drawn on top,
and later revisions appended to the file. The export signature covers the content
streams (`pages_sha256`) and each page's boxes, rotation and font names
(`layout_sha256`); what it cannot cover — annotations, forms, actions, JavaScript, a
second revision — a consulink PDF never has, so `refusals` names it as tampering.

The signing side reads the fpdf2 document before output; `layouts_of` reads the written
file with pypdf, and render_pdf checks the two agree, so a change in either library fails
an export instead of making exports that never verify.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from fpdf import FPDF
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from interviews.seal import canonical_bytes, sha256_hex

BOXES = ("/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox")
# How a page's text names its font in fpdf2's content streams ("/F3 10.00 Tf").
_FONT_USE = re.compile(rb"/(F\d+)\s+[-+]?\d+(?:\.\d+)?\s+Tf")
# The end of one revision; an incremental update adds another.
_REVISION_END = re.compile(rb"startxref\s+\d+\s+%%EOF")
# Dictionary keys that make a viewer draw, fill in or run something beyond the pages.
_ACTIVE_KEYS = ("/Annots", "/AA", "/AcroForm", "/JS", "/JavaScript")

Layout = dict[str, Any]


def pages_sha256(contents: Sequence[bytes]) -> str:
    """SHA-256 over a PDF's page content streams (decoded), each prefixed by its length."""
    return sha256_hex(b"".join(len(c).to_bytes(8, "big") + c for c in contents))


def layout_sha256(layouts: Sequence[Layout]) -> str:
    """SHA-256 over each page's boxes, rotation and font names (canonical JSON)."""
    return sha256_hex(canonical_bytes(list(layouts)))


def _layout(boxes: Sequence[Iterable[Any]], rotate: int, fonts: Iterable[str]) -> Layout:
    # Two decimals, as fpdf2 writes them: the same text whichever library read the numbers.
    return {
        "boxes": [[f"{float(v):.2f}" for v in box] for box in boxes],
        "rotate": rotate,
        "fonts": sorted(set(fonts)),
    }


def fpdf_layouts(pdf: FPDF, contents: Sequence[bytes]) -> list[Layout]:
    """The layout of each page of an fpdf2 document about to be written (`contents`: its
    pages' content streams): one box for all five (fpdf2 writes only the MediaBox, which
    the others default to), no rotation, and the fonts its text uses (fpdf2 lists exactly
    those in the page's resources)."""
    layouts = []
    for page, content in zip(pdf.pages.values(), contents, strict=True):
        width, height = page.dimensions()
        box = (0, 0, width, height)
        fonts = ["/" + m.decode() for m in _FONT_USE.findall(content)]
        layouts.append(_layout([box] * len(BOXES), 0, fonts))
    return layouts


def layouts_of(reader: PdfReader) -> list[Layout]:
    """The layout of each page of a written PDF, as a viewer takes it (inherited values and
    the boxes' defaults applied)."""
    layouts = []
    for page in reader.pages:
        boxes = [page.mediabox, page.cropbox, page.bleedbox, page.trimbox, page.artbox]
        resources = page.get("/Resources")
        fonts: Any = resources.get_object().get("/Font") if resources is not None else None
        names = [str(name) for name in fonts.get_object()] if fonts is not None else []
        layouts.append(_layout(boxes, int(page.rotation), names))
    return layouts


def refusals(data: bytes, reader: PdfReader) -> list[str]:
    """What a consulink PDF never holds, found in `data`: each a sentence naming the part."""
    found = []
    revisions = len(_REVISION_END.findall(data))
    # Counted in the raw bytes (pypdf reads only the newest revision). The record's JSON is
    # the one uncompressed text, so a summary quoting "startxref 1 %%EOF" is refused too.
    if revisions > 1:
        found.append(f"export changed: the PDF was updated after export ({revisions} revisions)")
    active: set[str] = set()
    _walk(reader.trailer.get("/Root"), active, set())
    for key in sorted(active):
        found.append(f"export changed: the PDF has {key} (added after export)")
    return found


def _walk(obj: PdfObject | None, found: set[str], seen: set[int]) -> None:
    """Every dictionary reachable from `obj`: collect the active keys it holds."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            for key in _ACTIVE_KEYS:
                value = item.get(key)
                if value is not None and not (isinstance(value, ArrayObject) and not value):
                    found.add(key)
            if item.get("/S") == "/JavaScript":
                found.add("/JavaScript")
            # fpdf2 opens the first page with a destination (an array); an action is a
            # dictionary that does something when the file opens.
            opening = item.get("/OpenAction")
            if opening is not None and not isinstance(opening.get_object(), ArrayObject):
                found.add("/OpenAction")
            stack.extend(v for k, v in item.items() if k != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)
