"""The consular directory's tables: consulates, embassies and consular sections.

Jurisdiction, languages and accepted evidence are child rows, not JSON, so that the
directory's filters are plain indexed joins on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from interviews.db import Base, UTCDateTime, utcnow


class ConsulateKind(StrEnum):
    """What sort of mission an entry is."""

    EMBASSY = "embassy"
    CONSULATE = "consulate"
    CONSULAR_SECTION = "consular_section"
    HONORARY_CONSULATE = "honorary_consulate"


class Evidence(StrEnum):
    """Ways a consulate accepts to certify a person's identity."""

    PASSPORT_COPY = "passport_copy"
    NATIONAL_ID = "national_id"
    BIRTH_CERTIFICATE = "birth_certificate"
    INTERVIEW = "interview"
    QUESTIONNAIRE = "questionnaire"


class Consulate(Base):
    """One directory entry."""

    __tablename__ = "consulates"
    # The directory's listing order: a page is read off this index without sorting.
    __table_args__ = (Index("ix_consulates_country_name_id", "country", "name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str] = mapped_column(String(2), index=True)  # country represented
    kind: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(120))
    located_country: Mapped[str] = mapped_column(String(2))
    time_zone: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    emergency_phone: Mapped[str] = mapped_column(String(64), default="")
    opening_hours: Mapped[str] = mapped_column(Text, default="")
    holidays: Mapped[str] = mapped_column(Text, default="")
    video_interviews: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    questionnaire_name: Mapped[str] = mapped_column(String(200), default="")
    questionnaire_parameters: Mapped[int | None] = mapped_column(Integer, nullable=True)
    questionnaire_required: Mapped[int | None] = mapped_column(Integer, nullable=True)
    travel_document_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    jurisdiction_rows: Mapped[list[ConsulateJurisdiction]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ConsulateJurisdiction.country"
    )
    language_rows: Mapped[list[ConsulateLanguage]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ConsulateLanguage.position"
    )
    evidence_rows: Mapped[list[ConsulateEvidence]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ConsulateEvidence.position"
    )

    @property
    def jurisdiction(self) -> list[str]:
        """Countries this mission serves."""
        return [row.country for row in self.jurisdiction_rows]

    @property
    def languages(self) -> list[str]:
        """ISO 639-3 codes of languages spoken by its staff, first is the main one."""
        return [row.language for row in self.language_rows]

    @property
    def accepted_evidence(self) -> list[str]:
        """How it certifies identity, in its own order of preference."""
        return [row.evidence for row in self.evidence_rows]


class ConsulateJurisdiction(Base):
    """A country where a consulate's jurisdiction extends."""

    __tablename__ = "consulate_jurisdictions"

    consulate_id: Mapped[int] = mapped_column(
        ForeignKey("consulates.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class ConsulateLanguage(Base):
    """A language the consulate works in."""

    __tablename__ = "consulate_languages"

    consulate_id: Mapped[int] = mapped_column(
        ForeignKey("consulates.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(3), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ConsulateEvidence(Base):
    """One kind of evidence the consulate accepts."""

    __tablename__ = "consulate_evidence"

    consulate_id: Mapped[int] = mapped_column(
        ForeignKey("consulates.id", ondelete="CASCADE"), primary_key=True
    )
    evidence: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
