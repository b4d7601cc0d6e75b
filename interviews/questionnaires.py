"""Identification questionnaires: each consulate's list of parameters and its rule.

A definition is never edited in place. Saving a changed definition adds a new *version*
(a new `Questionnaire` row with its own parameters), so answers given for a case keep
pointing at the exact parameters the consul saw; the newest version is the current one.

The directory keeps a summary of the questionnaire on the consulate (`questionnaire_name`,
`questionnaire_parameters`, `questionnaire_required`) because its search, CSV export and
API read those columns. Here the definition is the truth: saving one rewrites that summary
in the same transaction (compare-and-set on the entry's version, audited as a directory
update), so the two cannot disagree after any save made through consulink.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from interviews import codes
from interviews.access import Actor
from interviews.audit import changes, record
from interviews.consulates import Consulate
from interviews.db import Base, UTCDateTime, utcnow

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_PARAMETERS = 200


class Questionnaire(Base):
    """One version of a consulate's identification questionnaire."""

    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("consulate_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consulate_id: Mapped[int] = mapped_column(
        ForeignKey("consulates.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    # ISO 639-3 language of each parameter's `label` (the consulate's own language).
    language: Mapped[str] = mapped_column(String(3))
    # The rule: at least this many parameters must be confirmed.
    required: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_by_name: Mapped[str] = mapped_column(String(200), default="")

    parameters: Mapped[list[QuestionnaireParameter]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="QuestionnaireParameter.position",
    )

    @property
    def total(self) -> int:
        """How many parameters this version has (the N of "required of N")."""
        return len(self.parameters)

    def parameter(self, key: str) -> QuestionnaireParameter | None:
        """The parameter with this key, if this version has it."""
        return next((p for p in self.parameters if p.key == key), None)


class QuestionnaireParameter(Base):
    """One thing the consul checks, e.g. father's name or the district of birth."""

    __tablename__ = "questionnaire_parameters"
    __table_args__ = (UniqueConstraint("questionnaire_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))  # in the questionnaire's language
    label_en: Mapped[str] = mapped_column(String(200), default="")
    label_es: Mapped[str] = mapped_column(String(200), default="")
    help: Mapped[str] = mapped_column(Text, default="")

    def label_in(self, page_language: str) -> str:
        """The label for a page in English or Spanish (falls back to English, then own)."""
        if page_language == "es" and self.label_es:
            return self.label_es
        return self.label_en or self.label


def _language(value: str) -> str:
    try:
        return codes.language(value)
    except codes.CodeError as error:
        raise ValueError(str(error)) from None


Label = Annotated[str, Field(max_length=200)]


class ParameterIn(BaseModel):
    """One parameter as an editor sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: Annotated[str, Field(min_length=1, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    label_en: Label = ""
    label_es: Label = ""
    help: Annotated[str, Field(max_length=2000)] = ""

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_PATTERN.match(value):
            raise ValueError("use lower-case letters, digits and _; start with a letter")
        return value


class QuestionnaireIn(BaseModel):
    """A whole definition as an editor sends it; saving it makes a new version."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    language: Annotated[str, AfterValidator(_language)]
    required: Annotated[int, Field(ge=1)]
    parameters: Annotated[list[ParameterIn], Field(min_length=1, max_length=MAX_PARAMETERS)]
    # The version the editor started from; a newer one saved meanwhile means 409.
    based_on_version: Annotated[int, Field(ge=0)] | None = None

    @field_validator("parameters")
    @classmethod
    def _unique_keys(cls, values: list[ParameterIn]) -> list[ParameterIn]:
        seen: set[str] = set()
        for value in values:
            if value.key in seen:
                raise ValueError(f"the key {value.key!r} is used twice")
            seen.add(value.key)
        return values

    @field_validator("required")
    @classmethod
    def _rule(cls, value: int) -> int:
        if value > MAX_PARAMETERS:
            raise ValueError(f"cannot exceed {MAX_PARAMETERS}")
        return value

    def rule_error(self) -> str | None:
        """Why the rule cannot work with these parameters, if it cannot."""
        if self.required > len(self.parameters):
            return f"cannot exceed the number of parameters ({len(self.parameters)})"
        return None


class DefinitionError(ValueError):
    """A definition that cannot be saved; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StaleDefinition(DefinitionError):
    """Someone saved a newer version after the editor loaded theirs."""

    def __init__(self, current: int) -> None:
        super().__init__(
            "based_on_version",
            f"version {current} was saved after you started editing; reload and apply "
            "your changes to it",
        )
        self.current = current


async def current_definition(session: AsyncSession, consulate_id: int) -> Questionnaire | None:
    """The newest version of the consulate's questionnaire, if it has one."""
    found: Questionnaire | None = await session.scalar(
        select(Questionnaire)
        .where(Questionnaire.consulate_id == consulate_id)
        .order_by(Questionnaire.version.desc())
        .limit(1)
    )
    return found


async def definition_version(
    session: AsyncSession, consulate_id: int, version: int
) -> Questionnaire | None:
    """One version of the consulate's questionnaire."""
    found: Questionnaire | None = await session.scalar(
        select(Questionnaire).where(
            Questionnaire.consulate_id == consulate_id, Questionnaire.version == version
        )
    )
    return found


@dataclass(frozen=True)
class VersionInfo:
    """One version in the list of versions."""

    version: int
    name: str
    required: int
    total: int
    created_at: datetime
    created_by_name: str


async def versions(session: AsyncSession, consulate_id: int) -> list[VersionInfo]:
    """Every version of the consulate's questionnaire, newest first."""
    counts = (
        select(
            QuestionnaireParameter.questionnaire_id,
            func.count().label("total"),
        )
        .group_by(QuestionnaireParameter.questionnaire_id)
        .subquery()
    )
    rows = await session.execute(
        select(Questionnaire, counts.c.total)
        .join(counts, counts.c.questionnaire_id == Questionnaire.id)
        .where(Questionnaire.consulate_id == consulate_id)
        .order_by(Questionnaire.version.desc())
    )
    return [
        VersionInfo(q.version, q.name, q.required, int(total), q.created_at, q.created_by_name)
        for q, total in rows.all()
    ]


def as_input(definition: Questionnaire) -> dict[str, Any]:
    """A definition in the shape editors send (`QuestionnaireIn`)."""
    return {
        "name": definition.name,
        "language": definition.language,
        "required": definition.required,
        "parameters": [
            {
                "key": p.key,
                "label": p.label,
                "label_en": p.label_en,
                "label_es": p.label_es,
                "help": p.help,
            }
            for p in definition.parameters
        ],
    }


def as_dict(definition: Questionnaire) -> dict[str, Any]:
    """A definition in the API's JSON shape."""
    return {
        "id": definition.id,
        "consulate_id": definition.consulate_id,
        "version": definition.version,
        **as_input(definition),
        "total": definition.total,
        "rule": f"{definition.required} of {definition.total}",
        "created_at": definition.created_at.isoformat(),
        "created_by_name": definition.created_by_name,
    }


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    # One entry per parameter, so the audit shows only the parameters that changed.
    flat = {k: v for k, v in data.items() if k != "parameters"}
    flat["order"] = [p["key"] for p in data["parameters"]]
    for p in data["parameters"]:
        flat[f"parameter:{p['key']}"] = {k: v for k, v in p.items() if k != "key"}
    return flat


async def save_definition(
    session: AsyncSession,
    consulate: Consulate,
    data: QuestionnaireIn,
    *,
    actor: Actor | None,
    remote: str = "",
    now: datetime | None = None,
) -> tuple[Questionnaire, bool]:
    """Save a definition as the consulate's next version (unless nothing changed).

    Returns the current definition and whether a new version was made. Audits the change
    with each changed field before and after, and keeps the directory summary in step.
    """
    problem = data.rule_error()
    if problem:
        raise DefinitionError("required", problem)
    current = await current_definition(session, consulate.id)
    current_version = current.version if current else 0
    if data.based_on_version is not None and data.based_on_version != current_version:
        raise StaleDefinition(current_version)
    after = data.model_dump(exclude={"based_on_version"})
    before = as_input(current) if current else None
    if before == after and current is not None:
        return current, False
    now = now or utcnow()
    definition = Questionnaire(
        consulate_id=consulate.id,
        version=current_version + 1,
        name=data.name,
        language=data.language,
        required=data.required,
        created_at=now,
        created_by=actor.user_id if actor else None,
        created_by_name=actor.name if actor else "",
        parameters=[
            QuestionnaireParameter(
                position=i,
                key=p.key,
                label=p.label,
                label_en=p.label_en,
                label_es=p.label_es,
                help=p.help,
            )
            for i, p in enumerate(data.parameters)
        ],
    )
    session.add(definition)
    # The (consulate, version) unique constraint refuses a concurrent save of the same version.
    await session.flush()
    await record(
        session,
        "questionnaire.define",
        actor=actor,
        target_type="consulate",
        target_id=consulate.id,
        remote=remote,
        now=now,
        details={
            "version": definition.version,
            "changes": changes(_flat(before) if before else {}, _flat(after)),
        },
    )
    await _sync_directory(session, consulate, definition, actor=actor, remote=remote, now=now)
    return definition, True


async def _sync_directory(
    session: AsyncSession,
    consulate: Consulate,
    definition: Questionnaire,
    *,
    actor: Actor | None,
    remote: str,
    now: datetime,
) -> None:
    summary = {
        "questionnaire_name": definition.name,
        "questionnaire_parameters": definition.total,
        "questionnaire_required": definition.required,
    }
    before = {name: getattr(consulate, name) for name in summary}
    diff = changes(before, summary)
    if not diff:
        return
    loaded = consulate.version
    # Compare-and-set like the directory's own edits, so a directory form opened before
    # this save is refused as stale rather than overwriting the new summary.
    bumped = await session.execute(
        update(Consulate)
        .where(Consulate.id == consulate.id, Consulate.version == loaded)
        .values(version=loaded + 1, updated_at=now, **summary)
        .execution_options(synchronize_session=False)
    )
    if getattr(bumped, "rowcount", 0) != 1:
        raise DefinitionError(
            "consulate", "the directory entry changed at the same moment; save again"
        )
    # The row is already written; tell the ORM without making it write the row again.
    for name, value in {**summary, "version": loaded + 1}.items():
        set_committed_value(consulate, name, value)
    await record(
        session,
        "directory.update",
        actor=actor,
        target_type="consulate",
        target_id=consulate.id,
        remote=remote,
        now=now,
        details={"changes": diff, "version": loaded + 1, "via": "questionnaire"},
    )
