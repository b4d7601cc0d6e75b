"""Opening and editing cases: validated input, human-readable references, and their JSON form.

Identity data is personal data about detained people: the audit log gets the names of the
fields that changed, never their values, so the append-only log does not copy it forever.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from interviews import codes
from interviews.access import Actor
from interviews.audit import record
from interviews.cases import Case, CaseLanguage, CaseReferenceCounter, CaseStatus, Sex
from interviews.facilities import Facility
from interviews.sharing import revoke_endangering_shares

# Ages at or above this are adults; below it the minor flag is set whatever the form said.
ADULT_AGE = 18


class CaseError(ValueError):
    """A case change that cannot be made; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StaleCase(CaseError):
    """The case changed since the editor loaded it; saving would overwrite that change."""

    def __init__(self, current_version: int) -> None:
        super().__init__(
            "version",
            f"the case was changed by someone else (now version {current_version}); "
            "reload it and apply your changes again",
        )
        self.current_version = current_version


def _checked(check: Any) -> Any:
    def run(value: str) -> str:
        try:
            return str(check(value))
        except codes.CodeError as error:
            raise ValueError(str(error)) from None

    return AfterValidator(run)


CountryCode = Annotated[str, _checked(codes.country)]
LanguageCode = Annotated[str, _checked(codes.language)]
Name = Annotated[str, Field(max_length=200)]


class SpokenLanguage(BaseModel):
    """A language the person speaks, with a free note (dialect, how well)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    language: LanguageCode
    note: Annotated[str, Field(max_length=200)] = ""


class CaseIn(BaseModel):
    """A case as staff enter it (API body or form)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    facility_id: int | None = None
    given_names: Name = ""
    family_name: Name = ""
    aliases: Annotated[str, Field(max_length=2000)] = ""
    sex: Sex = Sex.UNKNOWN
    date_of_birth: date | None = None
    estimated_age: Annotated[int, Field(ge=0, le=120)] | None = None
    claimed_nationality: CountryCode
    other_nationalities: list[CountryCode] = Field(default_factory=list, max_length=10)
    languages: list[SpokenLanguage] = Field(default_factory=list, max_length=10)
    detention_date: date
    deadline: date | None = None
    minor: bool = False
    unaccompanied_minor: bool = False
    asylum_claim: bool = False
    trafficking_victim: bool = False
    medical_needs: bool = False

    @field_validator("other_nationalities")
    @classmethod
    def _dedupe_countries(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))

    @field_validator("languages")
    @classmethod
    def _dedupe_languages(cls, values: list[SpokenLanguage]) -> list[SpokenLanguage]:
        seen: dict[str, SpokenLanguage] = {}
        for value in values:
            seen.setdefault(value.language, value)
        return list(seen.values())

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth(cls, value: date | None) -> date | None:
        if value is not None and value.year < 1900:
            raise ValueError("must be after 1900")
        return value


# Fields of CaseIn an edit may change (the facility is fixed; moving is `closed_transferred`).
EDITABLE = frozenset(CaseIn.model_fields) - {"facility_id"}


def facility_today(facility: Facility, now: datetime) -> date:
    """The calendar date at the facility (deadlines are the facility's local dates)."""
    return now.astimezone(ZoneInfo(facility.time_zone)).date()


def age_on(birth: date, day: date) -> int:
    """Whole years from `birth` to `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _check_dates(data: CaseIn, today: date) -> None:
    if data.detention_date > today:
        raise CaseError("detention_date", "cannot be in the future")
    if data.date_of_birth is not None and data.date_of_birth > data.detention_date:
        raise CaseError("date_of_birth", "cannot be after the detention date")
    if data.deadline is not None and data.deadline < data.detention_date:
        raise CaseError("deadline", "cannot be before the detention date")
    if not (data.given_names or data.family_name or data.aliases):
        raise CaseError("family_name", "give at least one name or alias the person uses")


def _is_minor(data: CaseIn) -> bool:
    if data.date_of_birth is not None:
        return age_on(data.date_of_birth, data.detention_date) < ADULT_AGE
    return data.estimated_age is not None and data.estimated_age < ADULT_AGE


def _apply(case: Case, data: CaseIn, facility: Facility) -> None:
    case.given_names = data.given_names
    case.family_name = data.family_name
    case.aliases = data.aliases
    case.sex = data.sex.value
    case.date_of_birth = data.date_of_birth
    case.estimated_age = data.estimated_age
    case.claimed_nationality = data.claimed_nationality
    case.other_nationalities = [
        c for c in data.other_nationalities if c != data.claimed_nationality
    ]
    case.detention_date = data.detention_date
    case.deadline = data.deadline or data.detention_date + timedelta(days=facility.deadline_days)
    # A person known to be under 18 is treated as a minor whatever box was ticked.
    case.unaccompanied_minor = data.unaccompanied_minor
    case.minor = data.minor or data.unaccompanied_minor or _is_minor(data)
    case.asylum_claim = data.asylum_claim
    case.trafficking_victim = data.trafficking_victim
    case.medical_needs = data.medical_needs
    # Keep existing rows (same primary key) rather than delete and re-insert them in one flush.
    existing = {row.language: row for row in case.language_rows}
    rows = []
    for position, spoken in enumerate(data.languages):
        row = existing.get(spoken.language) or CaseLanguage(language=spoken.language)
        row.note = spoken.note
        row.position = position
        rows.append(row)
    case.language_rows = rows


def reference_prefix(facility: Facility) -> str:
    """Three capital letters from the facility's city (Tapachula → TAP), else F<id>."""
    ascii_city = unicodedata.normalize("NFKD", facility.city).encode("ascii", "ignore").decode()
    letters = re.sub(r"[^A-Za-z]", "", ascii_city).upper()
    return letters[:3] if len(letters) >= 3 else f"F{facility.id}"


async def next_reference(session: AsyncSession, prefix: str, year: int) -> str:
    """Hand out the next reference for `prefix` in `year` (TAP-2026-0007), safe under races."""
    for _attempt in range(3):
        result = await session.execute(
            update(CaseReferenceCounter)
            .where(CaseReferenceCounter.prefix == prefix, CaseReferenceCounter.year == year)
            .values(last=CaseReferenceCounter.last + 1)
            .returning(CaseReferenceCounter.last)
        )
        number = result.scalar_one_or_none()
        if number is None:
            try:
                async with session.begin_nested():
                    session.add(CaseReferenceCounter(prefix=prefix, year=year, last=1))
                number = 1
            except IntegrityError:
                # Another transaction created the counter first: take a number from it.
                continue
        return f"{prefix}-{year}-{number:04d}"
    raise CaseError("reference", "could not allocate a case reference; try again")


async def create_case(
    session: AsyncSession,
    data: CaseIn,
    *,
    facility: Facility,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> Case:
    """Open a case at `facility` (the caller checked the actor may), audited."""
    _check_dates(data, facility_today(facility, now))
    case = Case(
        facility_id=facility.id,
        status=CaseStatus.OPEN.value,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        version=1,
        reference=await next_reference(session, reference_prefix(facility), now.year),
    )
    _apply(case, data, facility)
    session.add(case)
    await session.flush()
    await record(
        session,
        "case.create",
        actor=actor,
        target_type="case",
        target_id=case.id,
        remote=remote,
        details={"reference": case.reference, "facility_id": facility.id},
        now=now,
    )
    return case


def case_input(case: Case) -> dict[str, Any]:
    """The case as CaseIn fields (the starting point of an edit)."""
    return {
        "given_names": case.given_names,
        "family_name": case.family_name,
        "aliases": case.aliases,
        "sex": case.sex,
        "date_of_birth": case.date_of_birth,
        "estimated_age": case.estimated_age,
        "claimed_nationality": case.claimed_nationality,
        "other_nationalities": list(case.other_nationalities),
        "languages": [{"language": r.language, "note": r.note} for r in case.language_rows],
        "detention_date": case.detention_date,
        "deadline": case.deadline,
        "minor": case.minor,
        "unaccompanied_minor": case.unaccompanied_minor,
        "asylum_claim": case.asylum_claim,
        "trafficking_victim": case.trafficking_victim,
        "medical_needs": case.medical_needs,
    }


def merged_input(case: Case, changes: dict[str, Any]) -> dict[str, Any]:
    """The case's current fields with `changes` laid over them, ready to validate as CaseIn."""
    unknown = sorted(set(changes) - EDITABLE - {"version"})
    if unknown:
        raise CaseError(unknown[0], "this field cannot be changed")
    merged = case_input(case)
    merged.update({key: value for key, value in changes.items() if key != "version"})
    return merged


async def update_case(
    session: AsyncSession,
    case: Case,
    data: CaseIn,
    *,
    version: int | None,
    facility: Facility,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> list[str]:
    """Apply an edit (compare-and-set on `version`); returns the names of changed fields."""
    if version is not None and version != case.version:
        raise StaleCase(case.version)
    _check_dates(data, facility_today(facility, now))
    before = case_input(case)
    _apply(case, data, facility)
    after = case_input(case)
    changed = sorted(key for key in after if after[key] != before[key])
    if not changed:
        return []
    case.version += 1
    case.updated_at = now
    await session.flush()
    await record(
        session,
        "case.edit",
        actor=actor,
        target_type="case",
        target_id=case.id,
        remote=remote,
        details={"fields": changed, "version": case.version},
        now=now,
    )
    if {"asylum_claim", "claimed_nationality", "other_nationalities"} & set(changed):
        # Identity data must not keep flowing to a country the person may be fleeing.
        await revoke_endangering_shares(session, case, actor=actor, now=now, remote=remote)
    return changed


async def open_case(
    session: AsyncSession,
    data: CaseIn,
    *,
    facility_id: int,
    actor: Actor,
    now: datetime,
    remote: str = "",
) -> Case:
    """Open a case at the facility with this id; CaseError when there is no such facility."""
    facility = await get_facility(session, facility_id)
    if facility is None:
        raise CaseError("facility_id", "no such facility")
    return await create_case(session, data, facility=facility, actor=actor, now=now, remote=remote)


async def get_facility(session: AsyncSession, facility_id: int) -> Facility | None:
    """A facility by id."""
    return await session.get(Facility, facility_id)


def as_dict(case: Case, *, today: date | None = None) -> dict[str, Any]:
    """The case as the JSON API shows it."""
    data: dict[str, Any] = {
        "id": case.id,
        "reference": case.reference,
        "facility_id": case.facility_id,
        **case_input(case),
        "photo_document_id": case.photo_document_id,
        "status": case.status,
        "version": case.version,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
    }
    for key in ("date_of_birth", "detention_date", "deadline"):
        value = data[key]
        data[key] = value.isoformat() if value is not None else None
    if today is not None:
        data["days_left"] = (case.deadline - today).days
    return data
