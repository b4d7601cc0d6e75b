"""Fonts and text layout for PDF exports (fpdf2).

Names and transcripts come in any script, so a PDF needs a Unicode TrueType font: DejaVu
Sans (Debian's fonts-dejavu-core) unless CONSULINK_EXPORT_FONT names another, with Noto
fonts for scripts DejaVu lacks (Sinhala, Devanagari, Bengali, Ethiopic, ...) when
fonts-noto-core is installed, shaped with HarfBuzz (uharfbuzz) so conjuncts and vowel
signs come out right. A missing font is a clear error, never a PDF of blanks.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
NOTO = Path("/usr/share/fonts/truetype/noto")
# Scripts DejaVu Sans does not cover, in the languages of the consulates we serve first.
NOTO_FALLBACKS = (
    "NotoSansSinhala-Regular.ttf",
    "NotoSansDevanagari-Regular.ttf",
    "NotoSansBengali-Regular.ttf",
    "NotoSansEthiopic-Regular.ttf",
    "NotoSansGurmukhi-Regular.ttf",
    "NotoSansTamil-Regular.ttf",
    "NotoSansArabic-Regular.ttf",
)
# Scripts whose letters change shape or order with their neighbours (Arabic, the Indic
# scripts, Sinhala, Ethiopic, ...): drawn right only through HarfBuzz text shaping.
_COMPLEX = ((0x0590, 0x1CFF), (0xA8E0, 0xABFF), (0xFB1D, 0xFEFF))
_HARFBUZZ = importlib.util.find_spec("uharfbuzz") is not None


class FontMissing(RuntimeError):
    """No Unicode TrueType font for PDF exports; the message says how to get one."""


@dataclass(frozen=True)
class PdfFonts:
    """The font files a PDF export uses."""

    regular: Path
    bold: Path
    fallbacks: tuple[Path, ...] = ()


def find_fonts(configured: Path | None = None) -> PdfFonts:
    """The export font (configured, else DejaVu Sans) and any installed Noto fallbacks."""
    if configured is not None:
        if not configured.is_file():
            raise FontMissing(f"CONSULINK_EXPORT_FONT names {configured}, which is not a file")
        regular = bold = configured
    else:
        regular, bold = DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSans-Bold.ttf"
        if not regular.is_file():
            raise FontMissing(
                f"PDF exports need a Unicode TrueType font and {regular} is missing: install "
                "fonts-dejavu-core (apt-get install fonts-dejavu-core) or set "
                "CONSULINK_EXPORT_FONT to a .ttf file"
            )
        if not bold.is_file():
            bold = regular
    fallbacks = tuple(NOTO / name for name in NOTO_FALLBACKS if (NOTO / name).is_file())
    return PdfFonts(regular, bold, fallbacks)


def needs_shaping(text: str) -> bool:
    """True when the text has letters of a script that needs shaping to be drawn right."""
    return any(low <= ord(c) <= high for c in set(text) for low, high in _COMPLEX)


def new_pdf(fonts: PdfFonts, title: str) -> FPDF:
    """An A4 document with the fonts registered as "body" (regular and bold) + fallbacks."""
    pdf = FPDF(format="A4")
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("body", "", str(fonts.regular))
    pdf.add_font("body", "B", str(fonts.bold))
    names = []
    for number, path in enumerate(fonts.fallbacks):
        name = f"fallback{number}"
        pdf.add_font(name, "", str(path))
        names.append(name)
    if names:
        pdf.set_fallback_fonts(names, exact_match=False)
    pdf.set_title(title)
    pdf.set_creator("consulink")
    return pdf


class Writer:
    """Paragraphs, headings and label/value rows, wrapped by word.

    fpdf2's multi_cell measures the line again for every character it adds, which made
    the transcript of a one-hour interview take over a second; this wraps with one
    measurement per distinct word (cached) and writes each line with a plain cell, about
    ten times faster. A word wider than the line goes to multi_cell, which breaks it.
    Shaping is switched on only for text that needs it, as it costs several times the
    plain layout.
    """

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        self._widths: dict[tuple[str, str, float, bool, str], float] = {}

    def _width(self, word: str) -> float:
        pdf = self.pdf
        key = (pdf.font_family, pdf.font_style, pdf.font_size_pt, bool(pdf.text_shaping), word)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = pdf.get_string_width(word)
        return width

    def _lines(self, text: str, width: float) -> list[str] | None:
        """The text broken into lines that fit `width`, or None if a word does not fit."""
        space = self._width(" ")
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            current: list[str] = []
            used = 0.0
            for word in paragraph.split():
                size = self._width(word)
                if size > width:
                    return None
                if current and used + space + size > width:
                    lines.append(" ".join(current))
                    current, used = [word], size
                else:
                    used += (space if current else 0.0) + size
                    current.append(word)
            lines.append(" ".join(current))
        return lines

    def text(
        self, text: str, *, size: float = 9.5, bold: bool = False, indent: float = 0.0
    ) -> None:
        """A paragraph at the left margin plus `indent` (mm), line height from the size."""
        pdf = self.pdf
        pdf.set_font("body", "B" if bold else "", size)
        shaped = _HARFBUZZ and needs_shaping(text)
        if shaped != bool(pdf.text_shaping):
            pdf.set_text_shaping(shaped)
        height = size * 0.5 + 0.4
        left = pdf.l_margin + indent
        lines = self._lines(text, pdf.w - pdf.r_margin - left - 2 * pdf.c_margin)
        if lines is None:
            pdf.set_x(left)
            pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
            return
        for line in lines:
            pdf.set_x(left)
            pdf.cell(0, height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str) -> None:
        """A section heading with a rule under it."""
        pdf = self.pdf
        pdf.ln(3)
        self.text(text, size=12, bold=True)
        pdf.set_draw_color(150)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(1.5)

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        """Label: value rows, the label in bold, the value indented under it."""
        for label, value in rows:
            self.text(f"{label}:", bold=True)
            self.text(value or "—", indent=6)

    def footers(self, text: str) -> None:
        """Each page's footer ("text  n/N"), written once all pages exist: drawn here,
        not in FPDF.footer(), which runs during output, after the content digest."""
        pdf = self.pdf
        pdf.set_auto_page_break(False)
        pdf.set_text_shaping(False)
        total = pdf.page
        for number in range(1, total + 1):
            pdf.page = number
            pdf.set_y(-12)
            pdf.set_font("body", size=7.5)
            pdf.set_text_color(90)
            pdf.cell(0, 5, f"{text}   {number}/{total}", align="C")
        pdf.page = total
