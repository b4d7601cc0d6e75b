"""Searching the consular directory: filters as clients send them, and one page of results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.consulates import (
    Consulate,
    ConsulateEvidence,
    ConsulateJurisdiction,
    ConsulateLanguage,
)
from interviews.directory import CountryCode, LanguageCode, row_as_dict


@dataclass(frozen=True)
class Filters:
    """Directory search filters; empty fields do not filter."""

    q: str = ""
    country: str = ""
    jurisdiction: str = ""
    language: str = ""
    video: bool | None = None


class SearchQuery(BaseModel):
    """Search parameters as clients send them (query string); codes are checked."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: Annotated[str, Field(max_length=200)] = ""
    country: CountryCode | None = None
    jurisdiction: CountryCode | None = None
    language: LanguageCode | None = None
    video: bool | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    offset: Annotated[int, Field(ge=0)] = 0

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SearchQuery:
        """Validate query-string values; empty ones mean "no filter"."""
        return cls.model_validate({k: v for k, v in params.items() if v.strip() != ""})

    @property
    def filters(self) -> Filters:
        """The filters part, for `search`."""
        return Filters(
            q=self.q,
            country=self.country or "",
            jurisdiction=self.jurisdiction or "",
            language=self.language or "",
            video=self.video,
        )


@dataclass(frozen=True)
class Page:
    """One page of search results."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(filters: Filters) -> list[Any]:
    conditions: list[Any] = []
    if filters.q:
        pattern = f"%{_like_escape(filters.q.lower())}%"
        conditions.append(
            or_(
                func.lower(Consulate.name).like(pattern, escape="\\"),
                func.lower(Consulate.city).like(pattern, escape="\\"),
            )
        )
    if filters.country:
        conditions.append(Consulate.country == filters.country)
    if filters.jurisdiction:
        conditions.append(
            exists().where(
                ConsulateJurisdiction.consulate_id == Consulate.id,
                ConsulateJurisdiction.country == filters.jurisdiction,
            )
        )
    if filters.language:
        conditions.append(
            exists().where(
                ConsulateLanguage.consulate_id == Consulate.id,
                ConsulateLanguage.language == filters.language,
            )
        )
    if filters.video is not None:
        conditions.append(Consulate.video_interviews == filters.video)
    return conditions


_ENTRY_COLUMNS = list(Consulate.__table__.c)


def _joined(owner: Any, value: Any, position: Any = None) -> Any:
    # A list as one "position:value,..." string per entry: group_concat on SQLite,
    # string_agg on PostgreSQL. Order inside an aggregate is not guaranteed, hence the
    # positions; codes never contain "," or ":".
    item = value if position is None else cast(position, String).concat(":").concat(value)
    return select(func.aggregate_strings(item, ",")).where(owner == Consulate.id).scalar_subquery()


_LISTS = [
    _joined(ConsulateJurisdiction.consulate_id, ConsulateJurisdiction.country).label(
        "jurisdiction_list"
    ),
    _joined(
        ConsulateLanguage.consulate_id, ConsulateLanguage.language, ConsulateLanguage.position
    ).label("languages_list"),
    _joined(
        ConsulateEvidence.consulate_id, ConsulateEvidence.evidence, ConsulateEvidence.position
    ).label("evidence_list"),
]


def _split(joined: str | None, *, positioned: bool) -> list[str]:
    if not joined:
        return []
    parts = joined.split(",")
    if not positioned:
        return sorted(parts)
    pairs = sorted((int(pos), code) for pos, _, code in (p.partition(":") for p in parts))
    return [code for _pos, code in pairs]


async def search(
    session: AsyncSession, filters: Filters, *, limit: int = 50, offset: int = 0
) -> Page:
    """Entries matching all filters, ordered by country represented then name.

    Items are in `as_dict`'s shape. Two queries and no ORM objects: the count, then the
    page's rows read in index order with their lists aggregated alongside (this is the
    directory's hot path; see bench/directory_search.py for the figures).
    """
    conditions = _conditions(filters)
    counted = select(func.count()).select_from(Consulate).where(*conditions)
    total = int(await session.scalar(counted) or 0)
    rows = await session.execute(
        select(*_ENTRY_COLUMNS, *_LISTS)
        .where(*conditions)
        .order_by(Consulate.country, Consulate.name, Consulate.id)
        .limit(limit)
        .offset(offset)
    )
    items = []
    for row in rows.all():
        entry = row_as_dict(row._mapping)
        entry["jurisdiction"] = _split(row.jurisdiction_list, positioned=False)
        entry["languages"] = _split(row.languages_list, positioned=True)
        entry["accepted_evidence"] = _split(row.evidence_list, positioned=True)
        items.append(entry)
    return Page(items, total, limit, offset)


@dataclass(frozen=True)
class Choices:
    """Codes that occur in the directory, for the search form's select boxes."""

    countries: list[str]
    jurisdictions: list[str]
    languages: list[str]


async def filter_choices(session: AsyncSession) -> Choices:
    """Countries represented, countries served and languages that some entry has."""
    countries = await session.scalars(select(Consulate.country).distinct())
    served = await session.scalars(select(ConsulateJurisdiction.country).distinct())
    languages = await session.scalars(select(ConsulateLanguage.language).distinct())
    return Choices(sorted(countries.all()), sorted(served.all()), sorted(languages.all()))
