"""A consul's answers to their consulate's questionnaire for one case, and the result.

For each parameter the consul records confirmed, not confirmed or not asked, with notes.
The result ("met: 5 of 20 confirmed, 5 required") is always computed here, never taken
from the client. Answers belong to one version of the definition; when the consulate
publishes a newer version the consul may move the case's answers onto it
(`move_to_current`), which carries answers over by parameter key.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from interviews.access import Actor
from interviews.accounts import Role
from interviews.audit import record
from interviews.consulates import Consulate
from interviews.db import Base, UTCDateTime, utcnow
from interviews.questionnaire_results import Answer, AnswerStatus, Filled, compute_result
from interviews.questionnaires import Questionnaire, current_definition


class CaseQuestionnaire(Base):
    """A consulate's questionnaire as filled for one case (one per case and consulate)."""

    __tablename__ = "case_questionnaires"
    __table_args__ = (UniqueConstraint("case_id", "consulate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    consulate_id: Mapped[int] = mapped_column(ForeignKey("consulates.id", ondelete="CASCADE"))
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True
    )
    # Bumped on every saved change, so a stale form cannot overwrite newer answers.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")

    definition: Mapped[Questionnaire] = relationship(lazy="selectin")
    answers: Mapped[list[QuestionnaireAnswer]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class QuestionnaireAnswer(Base):
    """The consul's finding for one parameter of one case."""

    __tablename__ = "questionnaire_answers"

    case_questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("case_questionnaires.id", ondelete="CASCADE"), primary_key=True
    )
    parameter_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_parameters.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")


class AnswerIn(BaseModel):
    """One parameter's answer as the consul sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: Annotated[str, Field(min_length=1, max_length=64)]
    status: AnswerStatus
    notes: Annotated[str, Field(max_length=4000)] = ""


class AnswersIn(BaseModel):
    """Answers to change (others stay as they are) and the version the consul started from."""

    model_config = ConfigDict(extra="forbid")

    answers: Annotated[list[AnswerIn], Field(min_length=1, max_length=200)]
    version: Annotated[int, Field(ge=0)] | None = None


class AnswerError(ValueError):
    """Answers that cannot be saved; `field` names the input at fault (web: 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StaleAnswers(ValueError):
    """Someone saved answers for this case after the consul loaded the form (web: 409)."""


class NoQuestionnaire(LookupError):
    """The consulate has not defined a questionnaire yet (web: 404)."""


def _filled(
    case_id: int, consulate_id: int, row: CaseQuestionnaire | None, definition: Questionnaire
) -> Filled:
    by_parameter = {a.parameter_id: a for a in row.answers} if row else {}
    answers: dict[str, Answer] = {}
    for p in definition.parameters:
        found = by_parameter.get(p.id)
        answers[p.key] = (
            Answer(
                p.key,
                AnswerStatus(found.status),
                found.notes,
                found.updated_at,
                found.updated_by_name,
            )
            if found
            else Answer(p.key, AnswerStatus.NOT_ASKED)
        )
    return Filled(
        case_id=case_id,
        consulate_id=consulate_id,
        definition=definition,
        answers=answers,
        result=compute_result(definition, [a.status for a in answers.values()]),
        version=row.version if row else 0,
        updated_at=row.updated_at if row else None,
        updated_by_name=row.updated_by_name if row else "",
    )


async def _row(session: AsyncSession, case_id: int, consulate_id: int) -> CaseQuestionnaire | None:
    found: CaseQuestionnaire | None = await session.scalar(
        select(CaseQuestionnaire).where(
            CaseQuestionnaire.case_id == case_id, CaseQuestionnaire.consulate_id == consulate_id
        )
    )
    return found


async def filled(session: AsyncSession, case_id: int, consulate_id: int) -> Filled | None:
    """The consulate's questionnaire for the case (all not asked before the first answer).

    None when the consulate has neither a definition nor answers for this case.
    """
    row = await _row(session, case_id, consulate_id)
    current = await current_definition(session, consulate_id)
    definition = row.definition if row else current
    if definition is None:
        return None
    view = _filled(case_id, consulate_id, row, definition)
    return _with_current(view, current)


def _with_current(view: Filled, current: Questionnaire | None) -> Filled:
    latest = current.version if current else view.definition.version
    return replace(view, current_version=latest)


async def filled_for_case(session: AsyncSession, case_id: int) -> list[Filled]:
    """Every consulate's questionnaire started for the case (for staff and admins)."""
    rows = await session.scalars(
        select(CaseQuestionnaire)
        .where(CaseQuestionnaire.case_id == case_id)
        .order_by(CaseQuestionnaire.id)
    )
    out = []
    for row in rows.all():
        current = await current_definition(session, row.consulate_id)
        out.append(_with_current(_filled(case_id, row.consulate_id, row, row.definition), current))
    return out


async def _named(session: AsyncSession, views: list[Filled]) -> list[Filled]:
    ids = {view.consulate_id for view in views}
    names: dict[int, str] = {}
    if ids:
        rows = await session.execute(
            select(Consulate.id, Consulate.name).where(Consulate.id.in_(ids))
        )
        names = {int(row[0]): str(row[1]) for row in rows}
    return [replace(view, consulate_name=names.get(view.consulate_id, "")) for view in views]


async def visible_filled(session: AsyncSession, actor: Actor, case_id: int) -> list[Filled]:
    """The case's questionnaires `actor` may see: a consul their own consulate's, others all.

    Load the case through `interviews.case_access` first: this decides only *which*
    consulates' questionnaires, not whether the case may be seen at all.
    """
    if actor.role is Role.CONSUL:
        found = await filled(session, case_id, actor.consulate_id) if actor.consulate_id else None
        views = [found] if found else []
    else:
        views = await filled_for_case(session, case_id)
    return await _named(session, views)


def _check_keys(definition: Questionnaire, data: AnswersIn) -> None:
    seen: set[str] = set()
    for i, answer in enumerate(data.answers):
        if definition.parameter(answer.key) is None:
            raise AnswerError(
                f"answers.{i}.key",
                f"no parameter {answer.key!r} in {definition.name!r} "
                f"(version {definition.version})",
            )
        if answer.key in seen:
            raise AnswerError(f"answers.{i}.key", f"{answer.key!r} is answered twice")
        seen.add(answer.key)


async def _bump(
    session: AsyncSession, row: CaseQuestionnaire, actor: Actor | None, now: datetime
) -> None:
    # Compare-and-set: if another save committed since this one loaded, refuse (409).
    name = actor.name if actor else ""
    bumped = await session.execute(
        update(CaseQuestionnaire)
        .where(CaseQuestionnaire.id == row.id, CaseQuestionnaire.version == row.version)
        .values(
            version=row.version + 1,
            updated_at=now,
            updated_by=actor.user_id if actor else None,
            updated_by_name=name,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(bumped, "rowcount", 0) != 1:
        raise StaleAnswers("these answers were changed meanwhile; reload and try again")
    for key, value in {
        "version": row.version + 1,
        "updated_at": now,
        "updated_by_name": name,
    }.items():
        set_committed_value(row, key, value)


async def save_answers(
    session: AsyncSession,
    case_id: int,
    consulate_id: int,
    data: AnswersIn,
    *,
    actor: Actor | None,
    remote: str = "",
    now: datetime | None = None,
) -> Filled:
    """Record the consul's answers, audit each change before/after, return the new result.

    Every key must be a parameter of the version being answered (else AnswerError and
    nothing is stored); `data.version`, when given, must be the current answers' version.
    """
    row = await _row(session, case_id, consulate_id)
    current = await current_definition(session, consulate_id)
    definition = row.definition if row else current
    if definition is None:
        raise NoQuestionnaire("this consulate has not defined a questionnaire")
    _check_keys(definition, data)
    if data.version is not None and data.version != (row.version if row else 0):
        raise StaleAnswers("these answers were changed meanwhile; reload and try again")
    before = _filled(case_id, consulate_id, row, definition)
    diff = {}
    for answer in data.answers:
        old = before.answers[answer.key]
        if (old.status, old.notes) != (answer.status, answer.notes):
            diff[answer.key] = [
                {"status": old.status.value, "notes": old.notes},
                {"status": answer.status.value, "notes": answer.notes},
            ]
    if not diff:
        return _with_current(before, current)
    now = now or utcnow()
    name = actor.name if actor else ""
    if row is None:
        # A concurrent first save of the same case and consulate fails on the unique key.
        row = CaseQuestionnaire(
            case_id=case_id,
            consulate_id=consulate_id,
            questionnaire_id=definition.id,
            version=0,
            updated_at=now,
            updated_by_name=name,
            answers=[],
        )
        session.add(row)
        await session.flush()
    await _bump(session, row, actor, now)
    existing = {a.parameter_id: a for a in row.answers}
    for answer in data.answers:
        if answer.key not in diff:
            continue
        parameter = definition.parameter(answer.key)
        assert parameter is not None  # checked above
        found = existing.get(parameter.id)
        if found is None:
            found = QuestionnaireAnswer(parameter_id=parameter.id)
            row.answers.append(found)
        found.status = answer.status.value
        found.notes = answer.notes
        found.updated_at = now
        found.updated_by_name = name
    await session.flush()
    after = _with_current(_filled(case_id, consulate_id, row, definition), current)
    await record(
        session,
        "questionnaire.answer",
        actor=actor,
        target_type="case",
        target_id=case_id,
        remote=remote,
        now=now,
        details={
            "consulate_id": consulate_id,
            "questionnaire_version": definition.version,
            "changes": diff,
            "result": {
                "met": after.result.met,
                "confirmed": after.result.confirmed,
                "required": after.result.required,
                "total": after.result.total,
            },
        },
    )
    return after


async def move_to_current(
    session: AsyncSession,
    case_id: int,
    consulate_id: int,
    *,
    actor: Actor | None,
    remote: str = "",
    now: datetime | None = None,
) -> Filled:
    """Move the case's answers to the newest definition, carrying them over by key.

    Answers to parameters the new version no longer has are dropped (the audit row keeps
    them). Does nothing when the answers already use the newest version.
    """
    row = await _row(session, case_id, consulate_id)
    current = await current_definition(session, consulate_id)
    if current is None:
        raise NoQuestionnaire("this consulate has not defined a questionnaire")
    if row is None or row.questionnaire_id == current.id:
        found = await filled(session, case_id, consulate_id)
        assert found is not None
        return found
    old = row.definition
    keys = {p.id: p.key for p in old.parameters}
    carried, dropped = {}, {}
    for answer in row.answers:
        key = keys[answer.parameter_id]
        target = current.parameter(key)
        if target is None:
            dropped[key] = {"status": answer.status, "notes": answer.notes}
        else:
            carried[key] = (target.id, answer)
    now = now or utcnow()
    await _bump(session, row, actor, now)
    row.questionnaire_id = current.id
    row.definition = current
    row.answers = [
        QuestionnaireAnswer(
            parameter_id=parameter_id,
            status=answer.status,
            notes=answer.notes,
            updated_at=answer.updated_at,
            updated_by_name=answer.updated_by_name,
        )
        for parameter_id, answer in carried.values()
    ]
    await session.flush()
    await record(
        session,
        "questionnaire.move",
        actor=actor,
        target_type="case",
        target_id=case_id,
        remote=remote,
        now=now,
        details={
            "consulate_id": consulate_id,
            "from_version": old.version,
            "to_version": current.version,
            "carried": sorted(carried),
            "dropped": dropped,
        },
    )
    return _with_current(_filled(case_id, consulate_id, row, current), current)
