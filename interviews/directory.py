"""The consular directory: validated entries, their changes and history (search: directory_search).

Every create and update is written to the audit log with the fields before and after;
`history` reads those rows back. Updates are compare-and-set on the entry's `version`, so
two people editing at once cannot silently overwrite each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from interviews import codes
from interviews.access import Actor
from interviews.audit import AuditEvent, changes, record
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

    @field_validator("languages", "accepted_evidence")
    @classmethod
    def _dedupe(cls, values: list[Any]) -> list[Any]:
        return _unique(values)

    @field_validator("jurisdiction")
    @classmethod
    def _sorted(cls, values: list[str]) -> list[str]:
        # Jurisdiction is a set: kept sorted, as the database reads it back.
        return sorted(set(values))

    @field_validator("questionnaire_required")
    @classmethod
    def _questionnaire_rule(cls, value: int | None, info: ValidationInfo) -> int | None:
        # A field validator (not a model one) so the error names the field that is wrong.
        total = info.data.get("questionnaire_parameters")
        if value is not None and total is not None and value > total:
            raise ValueError("cannot exceed questionnaire_parameters")
        return value


class ConsulateUpdate(ConsulateIn):
    """A full replacement; `version` is the one the editor started from (stale → refused)."""

    version: Annotated[int, Field(ge=1)] | None = None


class DirectoryError(ValueError):
    """A directory change that cannot be made (e.g. a duplicate name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StaleEntry(DirectoryError):
    """The entry changed since the editor loaded it; their save would overwrite that change."""

    def __init__(self, current_version: int) -> None:
        super().__init__(
            "version",
            f"the entry was changed by someone else (now version {current_version}); "
            "reload it and apply your changes again",
        )
        self.current_version = current_version


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as [{field, message}] with dotted field paths."""
    out = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"]) or "body"
        message = str(item["msg"]).removeprefix("Value error, ")
        out.append({"field": path, "message": message})
    return out


_COLUMNS = list(Consulate.__table__.c)


def row_as_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A `consulates` row in the API's JSON shape, its lists left empty for the caller."""
    return {
        "id": row["id"],
        "name": row["name"],
        "country": row["country"],
        "kind": row["kind"],
        "city": row["city"],
        "located_country": row["located_country"],
        "time_zone": row["time_zone"],
        "jurisdiction": [],
        "languages": [],
        "phone": row["phone"],
        "email": row["email"] or None,
        "website": row["website"] or None,
        "emergency_phone": row["emergency_phone"],
        "opening_hours": row["opening_hours"],
        "holidays": row["holidays"],
        "video_interviews": row["video_interviews"],
        "accepted_evidence": [],
        "questionnaire_name": row["questionnaire_name"],
        "questionnaire_parameters": row["questionnaire_parameters"],
        "questionnaire_required": row["questionnaire_required"],
        "travel_document_days": row["travel_document_days"],
        "notes": row["notes"],
        "version": row["version"],
        "updated_at": row["updated_at"].isoformat(),
    }


def as_dict(entry: Consulate) -> dict[str, Any]:
    """The entry in the API's JSON shape."""
    data = row_as_dict({column.key: getattr(entry, column.key) for column in _COLUMNS})
    data["jurisdiction"] = entry.jurisdiction
    data["languages"] = entry.languages
    data["accepted_evidence"] = entry.accepted_evidence
    return data


def as_input(entry: Consulate) -> dict[str, Any]:
    """The entry as a `ConsulateIn` body: what a client would PUT back unchanged."""
    data = as_dict(entry)
    for volatile in ("updated_at", "version", "id"):
        data.pop(volatile)
    return data


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
    # Child rows are replaced only when the list changed, so an unchanged save writes nothing.
    if entry.jurisdiction != data.jurisdiction:
        entry.jurisdiction_rows = [ConsulateJurisdiction(country=c) for c in data.jurisdiction]
    if entry.languages != data.languages:
        entry.language_rows = [
            ConsulateLanguage(language=code, position=i) for i, code in enumerate(data.languages)
        ]
    evidence = [ev.value for ev in data.accepted_evidence]
    if entry.accepted_evidence != evidence:
        entry.evidence_rows = [
            ConsulateEvidence(evidence=ev, position=i) for i, ev in enumerate(evidence)
        ]


async def find_by_name(session: AsyncSession, name: str) -> Consulate | None:
    """The entry with this name, ignoring case (names are unique that way)."""
    return await session.scalar(
        select(Consulate).where(func.lower(Consulate.name) == name.strip().lower())
    )


async def _check_name_free(session: AsyncSession, name: str, own_id: int | None) -> None:
    query = select(Consulate.id).where(func.lower(Consulate.name) == name.lower())
    if own_id is not None:
        query = query.where(Consulate.id != own_id)
    if await session.scalar(query) is not None:
        raise DirectoryError("name", f"an entry named {name!r} already exists")


@asynccontextmanager
async def _name_guard(name: str) -> AsyncIterator[None]:
    # Two saves of one name at the same moment both pass the check above; the database's
    # unique constraint refuses the second, which is a conflict, not a crash.
    try:
        yield
    except IntegrityError:
        raise DirectoryError("name", f"an entry named {name!r} already exists") from None


async def create_entry(
    session: AsyncSession, data: ConsulateIn, *, actor: Actor | None, remote: str = ""
) -> Consulate:
    """Add an entry and audit it."""
    await _check_name_free(session, data.name, None)
    # Empty collections set up front, so reading them after the flush needs no query.
    entry = Consulate(
        version=1, updated_at=utcnow(), jurisdiction_rows=[], language_rows=[], evidence_rows=[]
    )
    _apply(entry, data)
    session.add(entry)
    async with _name_guard(data.name):
        await session.flush()
    await record(
        session,
        "directory.create",
        actor=actor,
        target_type="consulate",
        target_id=entry.id,
        remote=remote,
        details={"after": as_input(entry), "version": 1},
    )
    return entry


async def update_entry(
    session: AsyncSession,
    entry: Consulate,
    data: ConsulateIn,
    *,
    actor: Actor | None,
    remote: str = "",
    expected_version: int | None = None,
) -> bool:
    """Replace an entry's fields, bump its version and audit before/after.

    Returns whether anything changed. Raises StaleEntry when `expected_version` is not the
    current one, or when another transaction saved the entry after it was loaded here.
    """
    loaded_version = entry.version
    if expected_version is not None and expected_version != loaded_version:
        raise StaleEntry(loaded_version)
    await _check_name_free(session, data.name, entry.id)
    before = as_input(entry)
    _apply(entry, data)
    diff = changes(before, as_input(entry))
    if not diff:
        return False
    # Compare-and-set in the database: a concurrent save that committed first wins, this
    # one is refused instead of silently overwriting it.
    async with _name_guard(data.name):
        bumped = await session.execute(
            update(Consulate)
            .where(Consulate.id == entry.id, Consulate.version == loaded_version)
            .values(version=loaded_version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    if getattr(bumped, "rowcount", 0) != 1:
        current = await session.scalar(select(Consulate.version).where(Consulate.id == entry.id))
        raise StaleEntry(int(current or loaded_version))
    entry.version = loaded_version + 1
    entry.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        "directory.update",
        actor=actor,
        target_type="consulate",
        target_id=entry.id,
        remote=remote,
        details={"changes": diff, "version": entry.version},
    )
    return True


async def get_entry(session: AsyncSession, entry_id: int) -> Consulate | None:
    """One entry by id."""
    return await session.get(Consulate, entry_id)


@dataclass(frozen=True)
class Change:
    """One audited change to an entry: who, when, and each field before and after."""

    at: datetime
    action: str
    user_id: int | None
    user_name: str
    role: str
    version: int | None
    fields: dict[str, tuple[Any, Any]]


async def history(session: AsyncSession, entry_id: int) -> list[Change]:
    """The entry's audited changes, newest first (the remote address is not included)."""
    rows = await session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.target_type == "consulate",
            AuditEvent.target_id == str(entry_id),
            AuditEvent.action.in_(["directory.create", "directory.update"]),
        )
        .order_by(AuditEvent.id.desc())
    )
    out = []
    for event in rows:
        details = event.details or {}
        if event.action == "directory.create":
            fields = {k: (None, v) for k, v in (details.get("after") or {}).items()}
        else:
            fields = {k: (pair[0], pair[1]) for k, pair in (details.get("changes") or {}).items()}
        out.append(
            Change(
                at=event.at,
                action=event.action,
                user_id=event.user_id,
                user_name=event.user_name,
                role=event.role,
                version=details.get("version"),
                fields=fields,
            )
        )
    return out


async def all_entries(session: AsyncSession) -> list[Consulate]:
    """Every entry, in directory order (for export)."""
    rows = await session.scalars(
        select(Consulate).order_by(Consulate.country, Consulate.name, Consulate.id)
    )
    return list(rows.all())
