"""The consular directory: validated entries, search with filters and paging, and changes.

Every create and update is written to the audit log with the fields before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews import codes
from interviews.access import Actor
from interviews.audit import changes, record
from interviews.consulates import (
    Consulate,
    ConsulateEvidence,
    ConsulateJurisdiction,
    ConsulateKind,
    ConsulateLanguage,
    Evidence,
)
from interviews.db import utcnow


def _code(check: Any) -> Any:
    def run(value: str) -> str:
        try:
            return str(check(value))
        except codes.CodeError as error:
            raise ValueError(str(error)) from None

    return AfterValidator(run)


CountryCode = Annotated[str, _code(codes.country)]
LanguageCode = Annotated[str, _code(codes.language)]
TimeZone = Annotated[str, _code(codes.time_zone)]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class ConsulateIn(BaseModel):
    """A directory entry as clients send it (API body, form, CSV row)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text200
    country: CountryCode
    kind: ConsulateKind
    city: Annotated[str, Field(min_length=1, max_length=120)]
    located_country: CountryCode
    time_zone: TimeZone
    jurisdiction: list[CountryCode] = Field(default_factory=list, max_length=250)
    languages: list[LanguageCode] = Field(default_factory=list, max_length=50)
    phone: Annotated[str, Field(max_length=64)] = ""
    email: EmailStr | None = None
    website: HttpUrl | None = None
    emergency_phone: Annotated[str, Field(max_length=64)] = ""
    opening_hours: Annotated[str, Field(max_length=2000)] = ""
    holidays: Annotated[str, Field(max_length=4000)] = ""
    video_interviews: bool = False
    accepted_evidence: list[Evidence] = Field(default_factory=list)
    questionnaire_name: Annotated[str, Field(max_length=200)] = ""
    questionnaire_parameters: Annotated[int, Field(ge=1, le=500)] | None = None
    questionnaire_required: Annotated[int, Field(ge=1, le=500)] | None = None
    travel_document_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    notes: Annotated[str, Field(max_length=10000)] = ""

    @field_validator("jurisdiction", "languages", "accepted_evidence")
    @classmethod
    def _dedupe(cls, values: list[Any]) -> list[Any]:
        return _unique(values)

    @model_validator(mode="after")
    def _questionnaire_rule(self) -> ConsulateIn:
        if (
            self.questionnaire_parameters is not None
            and self.questionnaire_required is not None
            and self.questionnaire_required > self.questionnaire_parameters
        ):
            raise ValueError("questionnaire_required cannot exceed questionnaire_parameters")
        return self


class DirectoryError(ValueError):
    """A directory change that cannot be made (e.g. a duplicate name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as [{field, message}] with dotted field paths."""
    out = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"]) or "body"
        message = str(item["msg"]).removeprefix("Value error, ")
        out.append({"field": path, "message": message})
    return out


def as_dict(entry: Consulate) -> dict[str, Any]:
    """The entry in the API's JSON shape."""
    return {
        "id": entry.id,
        "name": entry.name,
        "country": entry.country,
        "kind": entry.kind,
        "city": entry.city,
        "located_country": entry.located_country,
        "time_zone": entry.time_zone,
        "jurisdiction": entry.jurisdiction,
        "languages": entry.languages,
        "phone": entry.phone,
        "email": entry.email or None,
        "website": entry.website or None,
        "emergency_phone": entry.emergency_phone,
        "opening_hours": entry.opening_hours,
        "holidays": entry.holidays,
        "video_interviews": entry.video_interviews,
        "accepted_evidence": entry.accepted_evidence,
        "questionnaire_name": entry.questionnaire_name,
        "questionnaire_parameters": entry.questionnaire_parameters,
        "questionnaire_required": entry.questionnaire_required,
        "travel_document_days": entry.travel_document_days,
        "notes": entry.notes,
        "version": entry.version,
        "updated_at": entry.updated_at.isoformat(),
    }


def _apply(entry: Consulate, data: ConsulateIn) -> None:
    entry.name = data.name
    entry.country = data.country
    entry.kind = data.kind.value
    entry.city = data.city
    entry.located_country = data.located_country
    entry.time_zone = data.time_zone
    entry.phone = data.phone
    entry.email = str(data.email) if data.email else ""
    entry.website = str(data.website) if data.website else ""
    entry.emergency_phone = data.emergency_phone
    entry.opening_hours = data.opening_hours
    entry.holidays = data.holidays
    entry.video_interviews = data.video_interviews
    entry.questionnaire_name = data.questionnaire_name
    entry.questionnaire_parameters = data.questionnaire_parameters
    entry.questionnaire_required = data.questionnaire_required
    entry.travel_document_days = data.travel_document_days
    entry.notes = data.notes
    entry.jurisdiction_rows = [ConsulateJurisdiction(country=c) for c in data.jurisdiction]
    entry.language_rows = [
        ConsulateLanguage(language=code, position=i) for i, code in enumerate(data.languages)
    ]
    entry.evidence_rows = [
        ConsulateEvidence(evidence=ev.value, position=i)
        for i, ev in enumerate(data.accepted_evidence)
    ]
    entry.updated_at = utcnow()


async def _check_name_free(session: AsyncSession, name: str, own_id: int | None) -> None:
    query = select(Consulate.id).where(func.lower(Consulate.name) == name.lower())
    if own_id is not None:
        query = query.where(Consulate.id != own_id)
    if await session.scalar(query) is not None:
        raise DirectoryError("name", f"an entry named {name!r} already exists")


async def create_entry(
    session: AsyncSession, data: ConsulateIn, *, actor: Actor | None, remote: str = ""
) -> Consulate:
    """Add an entry and audit it."""
    await _check_name_free(session, data.name, None)
    entry = Consulate(version=1)
    _apply(entry, data)
    session.add(entry)
    await session.flush()
    await record(
        session,
        "directory.create",
        actor=actor,
        target_type="consulate",
        target_id=entry.id,
        remote=remote,
        details={"after": _auditable(entry)},
    )
    return entry


async def update_entry(
    session: AsyncSession,
    entry: Consulate,
    data: ConsulateIn,
    *,
    actor: Actor | None,
    remote: str = "",
) -> Consulate:
    """Replace an entry's fields, bump its version and audit before/after."""
    await _check_name_free(session, data.name, entry.id)
    before = _auditable(entry)
    _apply(entry, data)
    after = _auditable(entry)
    diff = changes(before, after)
    if diff:
        entry.version += 1
        await session.flush()
        await record(
            session,
            "directory.update",
            actor=actor,
            target_type="consulate",
            target_id=entry.id,
            remote=remote,
            details={"changes": diff},
        )
    return entry


def _auditable(entry: Consulate) -> dict[str, Any]:
    data = as_dict(entry)
    for volatile in ("updated_at", "version", "id"):
        data.pop(volatile)
    return data


async def get_entry(session: AsyncSession, entry_id: int) -> Consulate | None:
    """One entry by id."""
    return await session.get(Consulate, entry_id)


@dataclass(frozen=True)
class Filters:
    """Directory search filters; empty fields do not filter."""

    q: str = ""
    country: str = ""
    jurisdiction: str = ""
    language: str = ""
    video: bool | None = None


@dataclass(frozen=True)
class Page:
    """One page of search results."""

    items: list[Consulate]
    total: int
    limit: int
    offset: int


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    session: AsyncSession, filters: Filters, *, limit: int = 50, offset: int = 0
) -> Page:
    """Entries matching all filters, ordered by country represented then name."""
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
    total = await session.scalar(select(func.count(Consulate.id)).where(*conditions)) or 0
    rows = await session.scalars(
        select(Consulate)
        .where(*conditions)
        .order_by(Consulate.country, Consulate.name, Consulate.id)
        .limit(limit)
        .offset(offset)
    )
    return Page(list(rows.all()), int(total), limit, offset)


async def all_entries(session: AsyncSession) -> list[Consulate]:
    """Every entry, in directory order (for export)."""
    rows = await session.scalars(select(Consulate).order_by(Consulate.country, Consulate.name))
    return list(rows.all())
