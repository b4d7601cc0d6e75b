"""Statistics imported from other consulink installations, so a regional office can combine them.

An import replaces everything previously imported from the same source for the months
the document covers, in one transaction: importing a file twice, or a corrected file
for the same months, never counts anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    case,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.access import Actor
from interviews.audit import record
from interviews.db import Base, UTCDateTime
from interviews.indicators import ALL
from interviews.stats_exchange import Document, ExchangeError, Row, figure_key
from interviews.stats_tables import NATIONALITY_COUNTS


class ImportedStatistic(Base):
    """One published figure of another installation."""

    __tablename__ = "imported_statistics"
    __table_args__ = (
        UniqueConstraint(
            "source",
            "period",
            "country_of_detention",
            "facility",
            "nationality",
            "dimension_value",
            "indicator",
            name="uq_imported_statistics_figure",
        ),
        Index("ix_imported_statistics_period", "period", "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(7))
    country_of_detention: Mapped[str] = mapped_column(String(2))
    facility: Mapped[str] = mapped_column(String(200))
    nationality: Mapped[str] = mapped_column(String(2))
    dimension: Mapped[str] = mapped_column(String(16), default="")
    dimension_value: Mapped[str] = mapped_column(String(200), default="")
    indicator: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


@dataclass(frozen=True)
class ImportSummary:
    """What an import did."""

    source: str
    period_from: str
    period_to: str
    replaced: int
    added: int


async def import_document(
    session: AsyncSession,
    doc: Document,
    *,
    own_source: str,
    actor: Actor | None,
    now: datetime,
    remote: str = "",
) -> ImportSummary:
    """Replace the source's figures for the document's months with the document's rows."""
    if doc.source == own_source:
        raise ExchangeError("source", "this is this installation's own export; its figures "
                            "are already here")  # fmt: skip
    if doc.scope:
        raise ExchangeError("scope", f"this export holds only part of {doc.source}'s figures "
                            f"({doc.scope}); importing it would replace the rest for its "
                            "months. Import an export made without filters.")  # fmt: skip
    seen: set[object] = set()
    for position, row in enumerate(doc.rows):
        key = figure_key(row)
        if key in seen:
            raise ExchangeError(f"rows.{position}", "the same figure appears twice")
        seen.add(key)
    in_months = (
        (ImportedStatistic.source == doc.source)
        & (ImportedStatistic.period >= doc.period_from)
        & (ImportedStatistic.period <= doc.period_to)
    )
    replaced = await session.scalar(select(func.count()).where(in_months)) or 0
    await session.execute(delete(ImportedStatistic).where(in_months))
    if doc.rows:
        await session.execute(
            insert(ImportedStatistic),
            [
                row.model_dump()
                | {"source": doc.source, "imported_at": now, "imported_by": actor and actor.user_id}
                for row in doc.rows
            ],
        )
    await record(
        session,
        "stats.import",
        actor=actor,
        target_type="statistics",
        target_id=doc.source,
        remote=remote,
        details={
            "source": doc.source,
            "period_from": doc.period_from,
            "period_to": doc.period_to,
            "rows": len(doc.rows),
            "replaced": replaced,
        },
        now=now,
    )
    return ImportSummary(doc.source, doc.period_from, doc.period_to, replaced, len(doc.rows))


async def imported_rows(session: AsyncSession, source: str, first: str, last: str) -> list[Row]:
    """The figures imported from `source` for months `first`..`last` (YYYY-MM), in order."""
    result = await session.scalars(
        select(ImportedStatistic)
        .where(
            ImportedStatistic.source == source,
            ImportedStatistic.period >= first,
            ImportedStatistic.period <= last,
        )
        .order_by(ImportedStatistic.id)
    )
    return [
        Row.model_validate({name: getattr(item, name) for name in Row.model_fields})
        for item in result.all()
    ]


@dataclass(frozen=True)
class CountryFigure:
    """An indicator summed over months for one country of one source."""

    value: int
    incomplete: bool  # some month was suppressed: the true figure is larger


async def country_totals(
    session: AsyncSession, first: str, last: str
) -> dict[tuple[str, str], dict[str, CountryFigure]]:
    """(source, country) → indicator → its country-wide figure over the months (counts only)."""
    rows = await session.execute(
        select(
            ImportedStatistic.source,
            ImportedStatistic.country_of_detention,
            ImportedStatistic.indicator,
            func.sum(func.coalesce(ImportedStatistic.value, 0)),
            func.max(case((ImportedStatistic.suppressed, 1), else_=0)),
        )
        .where(
            ImportedStatistic.period >= first,
            ImportedStatistic.period <= last,
            ImportedStatistic.facility == ALL,
            ImportedStatistic.nationality == ALL,
            ImportedStatistic.indicator.in_(NATIONALITY_COUNTS),
        )
        .group_by(
            ImportedStatistic.source,
            ImportedStatistic.country_of_detention,
            ImportedStatistic.indicator,
        )
    )
    out: dict[tuple[str, str], dict[str, CountryFigure]] = {}
    for source, country, indicator, total, any_hidden in rows:
        out.setdefault((source, country), {})[indicator] = CountryFigure(
            int(total or 0), bool(any_hidden)
        )
    return out
