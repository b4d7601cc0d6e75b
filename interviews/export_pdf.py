"""The PDF export of a session summary (fpdf2), with the sealed record attached.

Names and transcripts come in any script, so the PDF needs a Unicode TrueType font:
DejaVu Sans (Debian's fonts-dejavu-core) unless CONSULINK_EXPORT_FONT names another, and
Noto fonts for scripts DejaVu lacks (Sinhala, Devanagari, Bengali, Ethiopic, ...) when
fonts-noto-core is installed. A missing font is a clear error, never a PDF of blanks.

The record (summary + seal) is embedded uncompressed as ``consulink-record.json`` so
`consulink records verify` reads it back, and the seal's digests are printed on the last
page for a reader holding paper. CPU work: call it in an executor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from interviews.export_labels import Labels, clock, country_name, duration, language_name, when
from interviews.exports import RECORD_NAME, transcript_translations
from interviews.seal import seal_digest, sha256_hex, sign_export

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


def _footers(pdf: FPDF, text: str) -> None:
    """Write each page's footer once all pages exist ("page n/N"): drawn here, not in
    FPDF.footer(), which runs during output, after the content digest is taken."""
    pdf.set_auto_page_break(False)
    total = pdf.page
    for number in range(1, total + 1):
        pdf.page = number
        pdf.set_y(-12)
        pdf.set_font("body", size=7.5)
        pdf.set_text_color(90)
        pdf.cell(0, 5, f"{text}   {number}/{total}", align="C")
    pdf.page = total


def _setup(fonts: PdfFonts, title: str) -> FPDF:
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


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("body", "B", 12)
    pdf.multi_cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(150)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.5)
    pdf.set_font("body", "", 9.5)


def _fields(pdf: FPDF, rows: Sequence[tuple[str, str]]) -> None:
    """Label: value lines, the label in bold."""
    for label, value in rows:
        pdf.set_font("body", "B", 9.5)
        pdf.multi_cell(0, 5, f"{label}:", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        pdf.set_font("body", "", 9.5)
        pdf.set_x(pdf.l_margin + 6)
        pdf.multi_cell(0, 5, value or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")


def _para(pdf: FPDF, text: str, *, size: float = 9.5, indent: float = 0) -> None:
    pdf.set_font("body", "", size)
    pdf.set_x(pdf.l_margin + indent)
    pdf.multi_cell(0, size * 0.5 + 0.4, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")


def pages_sha256(contents: Sequence[bytes]) -> str:
    """SHA-256 over a PDF's page content streams (decoded), each prefixed by its length:
    what the export signature of a PDF covers."""
    return sha256_hex(b"".join(len(c).to_bytes(8, "big") + c for c in contents))


def render_pdf(
    record: Mapping[str, Any], labels: Labels, fonts: PdfFonts, key: Ed25519PrivateKey
) -> bytes:
    """The PDF export: summary sections, the transcript, and the seal on the last page."""
    s = record["summary"]
    seal = record["seal"]
    t = labels
    case = s.get("case") or {}
    interview = s.get("interview") or {}
    reference = str(case.get("reference") or "")
    pdf = _setup(fonts, f"{t('Interview summary')} {reference}")
    pdf.add_page()

    pdf.set_font("body", "B", 16)
    pdf.multi_cell(0, 8, t("Interview summary"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    header = [
        (t("Case"), reference),
        (t("Person"), str(case.get("person_name") or "")),
        (t("Claimed nationality"), country_name(case.get("claimed_nationality"))),
        (t("Consulate"), str((interview.get("consulate") or {}).get("name") or "—")),
        (t("Facility"), str((interview.get("facility") or {}).get("name") or "—")),
        (
            t("Scheduled"),
            f"{when(interview.get('starts_at'))} – {when(interview.get('ends_at'))}",
        ),
        (t("Opened"), when(interview.get("opened_at"))),
        (t("Closed"), when(interview.get("closed_at"))),
        (t("Status"), t.value(interview.get("status"))),
        (t("Interview language"), language_name(interview.get("language"))),
        (t("Summary version"), f"{s.get('version')} ({when(s.get('generated_at'))})"),
    ]
    _fields(pdf, header)

    _heading(pdf, t("Outcome"))
    outcome = s.get("outcome")
    if outcome:
        nationality = t.value(outcome.get("nationality"))
        if outcome.get("nationality_country"):
            nationality += f" ({country_name(outcome['nationality_country'])})"
        _fields(
            pdf,
            [
                (t("Identity"), t.value(outcome.get("identity"))),
                (t("Nationality"), nationality),
                (t("Travel document"), t.value(outcome.get("travel_document"))),
                (t("Next steps"), str(outcome.get("next_steps") or "")),
                (t("Notes"), str(outcome.get("notes") or "")),
                (
                    t("Recorded by"),
                    f"{outcome.get('recorded_by') or ''}, {when(outcome.get('recorded_at'))}",
                ),
            ],
        )
    else:
        _para(pdf, t("No outcome recorded"))

    _heading(pdf, t("Participants"))
    for p in s.get("participants") or []:
        pdf.set_font("body", "B", 9.5)
        pdf.multi_cell(
            0, 5, f"{p.get('name')} — {t.value(p.get('role'))}", new_x=XPos.LMARGIN,
            new_y=YPos.NEXT, align="L",
        )  # fmt: skip
        _para(
            pdf,
            f"{t('Organisation')}: {p.get('organisation') or '—'} · "
            f"{t('Language')}: {language_name(p.get('language'))} · "
            f"{t('Time present')}: {duration(p.get('seconds'))} · "
            f"{t('Reconnections')}: {p.get('reconnects', 0)} · "
            f"{t('Poor connection')}: {len(p.get('poor_quality') or [])}",
            indent=6,
        )

    questionnaire = s.get("questionnaire")
    if questionnaire:
        result = questionnaire.get("result") or {}
        _heading(pdf, t("Questionnaire"))
        _fields(
            pdf,
            [
                (t("Questionnaire"), str((questionnaire.get("questionnaire") or {}).get("name"))),
                (
                    t("Parameters confirmed"),
                    f"{result.get('confirmed')} / {result.get('total')}",
                ),
                (t("Required"), str(result.get("required"))),
                (t("Met"), t("yes") if result.get("met") else t("no")),
            ],
        )

    _heading(pdf, t("Transcript"))
    _para(pdf, t("Machine transcription and translation: check against the recording."), size=8)
    lines = s.get("transcript") or []
    if not lines:
        _para(pdf, t("No transcript"))
    for line in lines:
        pdf.set_font("body", "B", 9)
        pdf.multi_cell(
            0, 4.6, f"{clock(line.get('offset_ms', 0))}  {line.get('speaker') or ''}",
            new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L",
        )  # fmt: skip
        _para(pdf, str(line.get("text") or ""), size=9, indent=6)
        for _, text in transcript_translations(line, labels):
            pdf.set_text_color(70)
            _para(pdf, text, size=8.5, indent=10)
            pdf.set_text_color(0)

    chat = s.get("chat") or []
    if chat:
        _heading(pdf, t("Chat"))
        for message in chat:
            _para(pdf, f"{when(message.get('at'))}  {message.get('name')}: {message.get('text')}")

    sealed = {r["path"]: r for r in seal.get("recordings") or []}
    recordings = s.get("recordings") or []
    if recordings:
        _heading(pdf, t("Recordings"))
        for rec in recordings:
            digest = (sealed.get(rec.get("path")) or {}).get("sha256")
            _para(pdf, f"{rec.get('participant')} · {t.value(rec.get('kind'))} · {rec.get('path')}")
            _para(pdf, f"SHA-256 {digest or t('missing when sealed')}", size=7.5, indent=6)

    _heading(pdf, t("Seal"))
    _fields(
        pdf,
        [
            (t("Summary SHA-256"), str(seal.get("summary_sha256"))),
            (t("Seal SHA-256"), seal_digest(seal)),
            (t("Signing key"), f"Ed25519 {seal.get('key_id')}"),
            (t("Sealed at"), when(seal.get("sealed_at"))),
            (t("Signature"), str(seal.get("signature"))),
        ],
    )
    _para(pdf, t("To check this record: consulink records verify FILE --recordings DIR"), size=8)

    _footers(pdf, f"consulink · {reference} · v{s.get('version')}")
    # The pages are final here (nothing is substituted at output), so their digest is
    # what a reader of the file gets back.
    contents = [page.contents for page in pdf.pages.values()]
    if not all(isinstance(c, bytearray) for c in contents):  # fpdf2 changed how it works
        raise RuntimeError("fpdf2 finalised the pages before their digest was taken")
    digest = pages_sha256([bytes(c) for c in contents if isinstance(c, bytearray)])
    sealed = {**record, "export": sign_export(seal, "pdf", digest, key)}
    # Uncompressed so the attachment is the record's bytes as they are: a changed byte
    # in the file is a changed byte in the summary, which verification names.
    pdf.embed_file(
        bytes=json.dumps(sealed, sort_keys=True, ensure_ascii=True).encode(),
        basename=RECORD_NAME,
        mime_type="application/json",
        desc="consulink sealed record: summary and seal",
        compress=False,
    )
    return bytes(pdf.output())
