"""Documents attached to a case: identity papers and photos, validated and encrypted at rest.

The row keeps what the server learned from the content (real type, size, pixels, pages);
the bytes live in the `document_store`, named by the SHA-256 of what was stored.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.access import Action, Actor
from interviews.audit import record
from interviews.case_access import CaseGrant, load_case_grant
from interviews.cases import Case
from interviews.db import Base, UTCDateTime, utcnow
from interviews.document_store import DocumentStore
from interviews.imaging import JPEG, PNG, ImageRefused, clean_image, thumbnail, watermark_image
from interviews.pdfs import PDF, PdfRefused, clean_pdf, watermark_pdf


class DocumentKind(StrEnum):
    """What a document is, as the uploader declares it."""

    PASSPORT_COPY = "passport_copy"
    NATIONAL_ID = "national_id"
    BIRTH_CERTIFICATE = "birth_certificate"
    PHOTO = "photo"
    OTHER = "other"


class Document(Base):
    """One stored file of a case."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # The real type, found from the content: application/pdf, image/jpeg or image/png.
    content_type: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    # The uploader's file name made safe (no path, no control characters), for downloads.
    filename: Mapped[str] = mapped_column(String(200))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    thumbnail_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    uploaded_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    uploaded_by_name: Mapped[str] = mapped_column(String(200), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentRefused(ValueError):
    """An upload that is not accepted: the reason, the HTTP status and the field at fault."""

    def __init__(self, message: str, status: int = 400, field: str = "file") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class PreparedDocument:
    """An upload that passed every check, cleaned and ready to store."""

    data: bytes
    content_type: str
    filename: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    thumbnail: bytes | None = None


_EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}
_DECLARED = {".pdf": PDF, ".jpg": JPEG, ".jpeg": JPEG, ".jpe": JPEG, ".png": PNG}
_NAMES = {PDF: "a PDF", JPEG: "a JPEG image", PNG: "a PNG image"}
_FORBIDDEN_IN_NAME = re.compile(r"[/\\]|\.\.|^\.")


def sniff(data: bytes) -> str | None:
    """The real type from the first bytes (magic numbers), whatever the name says."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def check_filename(name: str) -> str:
    """The uploader's file name if it is a plain name, else DocumentRefused (400).

    Path parts (`../`, `/`, `\\`), a leading dot, and control or invisible formatting
    characters (which can disguise an extension, e.g. U+202E) are refused, not repaired.
    """
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise DocumentRefused("the file has no name")
    if _FORBIDDEN_IN_NAME.search(name) or any(
        unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for char in name
    ):
        raise DocumentRefused(
            "the file name must be a plain name, without folders (../, /, \\) or control characters"
        )
    if len(name) > 150:
        raise DocumentRefused("the file name is longer than 150 characters")
    return name


def prepare(data: bytes, filename: str, kind: DocumentKind, *, max_pixels: int) -> PreparedDocument:
    """Check an upload from its content and clean it; CPU work, so run it in an executor.

    The type is what the content is. A name whose extension claims another type is
    refused (415) rather than silently stored as something the uploader did not mean.
    """
    name = check_filename(filename)
    if not data:
        raise DocumentRefused("the file is empty")
    real = sniff(data)
    if real is None:
        raise DocumentRefused("only PDF, JPEG and PNG files are accepted", status=415)
    stem, extension = posixpath.splitext(name)
    declared = _DECLARED.get(extension.lower())
    if declared is not None and declared != real:
        raise DocumentRefused(
            f"the file is {_NAMES[real]} but its name ends in {extension}; "
            "rename it or upload the file you meant",
            status=415,
        )
    if kind is DocumentKind.PHOTO and real == PDF:
        raise DocumentRefused("a photo must be a JPEG or PNG image", field="kind")
    safe_name = (stem if declared else name) + _EXTENSIONS[real]
    if real == PDF:
        try:
            clean = clean_pdf(data)
        except PdfRefused as error:
            raise DocumentRefused(str(error), status=400) from None
        return PreparedDocument(clean.data, PDF, safe_name, pages=clean.pages)
    try:
        image = clean_image(data, real, max_pixels)
    except ImageRefused as error:
        raise DocumentRefused(str(error), status=error.status) from None
    return PreparedDocument(
        image.data,
        real,
        safe_name,
        width=image.width,
        height=image.height,
        thumbnail=thumbnail(image.data),
    )


async def add_document(
    session: AsyncSession,
    store: DocumentStore,
    case: Case,
    prepared: PreparedDocument,
    kind: DocumentKind,
    *,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> Document:
    """Store a prepared upload encrypted and attach it to `case` (checked by the caller)."""
    digest = await asyncio.to_thread(store.put, prepared.data)
    thumb = await asyncio.to_thread(store.put, prepared.thumbnail) if prepared.thumbnail else None
    document = Document(
        case_id=case.id,
        kind=kind.value,
        content_type=prepared.content_type,
        sha256=digest,
        size=len(prepared.data),
        filename=prepared.filename,
        width=prepared.width,
        height=prepared.height,
        pages=prepared.pages,
        thumbnail_sha256=thumb,
        uploaded_by=actor.user_id,
        uploaded_by_name=actor.name,
        uploaded_at=now,
    )
    session.add(document)
    await session.flush()
    if kind is DocumentKind.PHOTO:
        case.photo_document_id = document.id
    await record(
        session,
        "document.upload",
        actor=actor,
        target_type="document",
        target_id=document.id,
        remote=remote,
        details={"case_id": case.id, "kind": kind.value, "content_type": prepared.content_type},
        now=now,
    )
    return document


class DocumentNotFound(LookupError):
    """No document with that id."""


async def load_document(
    session: AsyncSession, actor: Actor | None, document_id: int, action: Action
) -> tuple[Document, CaseGrant]:
    """A document and the grant on its case, under the case's access rules (case_access)."""
    document = await session.get(Document, document_id)
    if document is None:
        raise DocumentNotFound(document_id)
    grant = await load_case_grant(session, actor, document.case_id, action)
    return document, grant


async def case_documents(session: AsyncSession, case_id: int) -> list[Document]:
    """A case's documents, newest first."""
    rows = await session.scalars(
        select(Document)
        .where(Document.case_id == case_id)
        .order_by(Document.uploaded_at.desc(), Document.id.desc())
    )
    return list(rows.all())


def watermark(data: bytes, content_type: str, text: str) -> bytes:
    """A copy of a stored document with `text` visibly burnt in; CPU work (executor)."""
    if content_type == PDF:
        return watermark_pdf(data, text)
    return watermark_image(data, content_type, text)


def document_dict(document: Document) -> dict[str, Any]:
    """A document as the JSON API shows it (never the content hash: it identifies the file)."""
    return {
        "id": document.id,
        "case_id": document.case_id,
        "kind": document.kind,
        "content_type": document.content_type,
        "size": document.size,
        "filename": document.filename,
        "width": document.width,
        "height": document.height,
        "pages": document.pages,
        "has_thumbnail": document.thumbnail_sha256 is not None,
        "uploaded_by": document.uploaded_by_name,
        "uploaded_at": document.uploaded_at.isoformat(),
        "url": f"/api/documents/{document.id}/content",
    }
