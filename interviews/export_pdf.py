"""The PDF export of a session summary (fpdf2), with the sealed record attached.

Fonts and layout (any script, shaped where needed) live in interviews.pdf_layout. The
record (summary + seal) is embedded uncompressed as ``consulink-record.json`` so
`consulink records verify` reads it back, the seal's digests are printed on the last
page for a reader holding paper, and the pages' content streams and layout are signed
(the record's "export" part; interviews.pdf_seal says what it covers). CPU work: call it
in an executor.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from interviews.export_labels import Labels, clock, country_name, duration, language_name, when
from interviews.exports import RECORD_NAME, transcript_translations
from interviews.pdf_layout import PdfFonts, Writer, new_pdf
from interviews.pdf_seal import fpdf_layouts, layout_sha256, layouts_of, pages_sha256
from interviews.seal import seal_digest, sign_export


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
    pdf = new_pdf(fonts, f"{t('Interview summary')} {reference}")
    out = Writer(pdf)
    pdf.add_page()
    out.text(t("Interview summary"), size=16, bold=True)
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
    out.fields(header)

    out.heading(t("Outcome"))
    outcome = s.get("outcome")
    if outcome:
        nationality = t.value(outcome.get("nationality"))
        if outcome.get("nationality_country"):
            nationality += f" ({country_name(outcome['nationality_country'])})"
        out.fields(
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
        out.text(t("No outcome recorded"))

    out.heading(t("Participants"))
    for p in s.get("participants") or []:
        out.text(f"{p.get('name')} — {t.value(p.get('role'))}", bold=True)
        out.text(
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
        out.heading(t("Questionnaire"))
        out.fields(
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

    out.heading(t("Transcript"))
    out.text(t("Machine transcription and translation: check against the recording."), size=8)
    lines = s.get("transcript") or []
    if not lines:
        out.text(t("No transcript"))
    for line in lines:
        out.text(
            f"{clock(line.get('offset_ms', 0))}  {line.get('speaker') or ''}", size=9, bold=True
        )
        out.text(str(line.get("text") or ""), size=9, indent=6)
        for _, text in transcript_translations(line, labels):
            pdf.set_text_color(70)
            out.text(text, size=8.5, indent=10)
            pdf.set_text_color(0)

    chat = s.get("chat") or []
    if chat:
        out.heading(t("Chat"))
        for message in chat:
            out.text(f"{when(message.get('at'))}  {message.get('name')}: {message.get('text')}")

    sealed = {r["path"]: r for r in seal.get("recordings") or []}
    recordings = s.get("recordings") or []
    if recordings:
        out.heading(t("Recordings"))
        for rec in recordings:
            digest = (sealed.get(rec.get("path")) or {}).get("sha256")
            out.text(f"{rec.get('participant')} · {t.value(rec.get('kind'))} · {rec.get('path')}")
            out.text(f"SHA-256 {digest or t('missing when sealed')}", size=7.5, indent=6)

    out.heading(t("Seal"))
    out.fields(
        [
            (t("Summary SHA-256"), str(seal.get("summary_sha256"))),
            (t("Seal SHA-256"), seal_digest(seal)),
            (t("Signing key"), f"Ed25519 {seal.get('key_id')}"),
            (t("Sealed at"), when(seal.get("sealed_at"))),
            (t("Signature"), str(seal.get("signature"))),
        ],
    )
    out.text(t("To check this record: consulink records verify FILE --recordings DIR"), size=8)

    out.footers(f"consulink · {reference} · v{s.get('version')}")
    # The pages are final here (nothing is substituted at output), so their digest is
    # what a reader of the file gets back.
    contents = [page.contents for page in pdf.pages.values()]
    if not all(isinstance(c, bytearray) for c in contents):  # fpdf2 changed how it works
        raise RuntimeError("fpdf2 finalised the pages before their digest was taken")
    streams = [bytes(c) for c in contents if isinstance(c, bytearray)]
    digest = pages_sha256(streams)
    layouts = fpdf_layouts(pdf, streams)
    export = sign_export(seal, "pdf", digest, key, layout_sha256=layout_sha256(layouts))
    sealed = {**record, "export": export}
    # Uncompressed so the attachment is the record's bytes as they are: a changed byte
    # in the file is a changed byte in the summary, which verification names.
    pdf.embed_file(
        bytes=json.dumps(sealed, sort_keys=True, ensure_ascii=True).encode(),
        basename=RECORD_NAME,
        mime_type="application/json",
        desc="consulink sealed record: summary and seal",
        compress=False,
    )
    data = bytes(pdf.output())
    # The layout was read from fpdf2's objects; verification reads the file with pypdf.
    if layouts_of(PdfReader(io.BytesIO(data))) != layouts:
        raise RuntimeError("the PDF's pages are not laid out as signed (fpdf2 or pypdf changed)")
    return data
