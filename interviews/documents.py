"""Documents attached to a case: identity papers and photos, validated and encrypted at rest.

The row keeps what the server learned from the content (real type, size, pixels, pages);
the bytes live in the `document_store`, named by the SHA-256 of what was stored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from interviews.db import Base, UTCDateTime, utcnow


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
